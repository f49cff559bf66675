"""SageMaker on the wire: the operations the local cloud runs itself (training jobs). Everything else falls through
to moto."""

from __future__ import annotations

from typing import Any

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.sagemaker.exceptions import ValidationException
from mwaa_local.cloud.sagemaker.hosting import Endpoint, Hosting
from mwaa_local.cloud.sagemaker.processing import ProcessingJob, ProcessingJobs
from mwaa_local.cloud.sagemaker.training import TrainingJob, TrainingJobs
from mwaa_local.cloud.sagemaker.transform import TransformJob, TransformJobs
from mwaa_local.cloud.service import JsonService

SORT_KEYS = {"Name": lambda j: j.name, "CreationTime": lambda j: j.created, "Status": lambda j: j.status}


def _page(items: list, next_token: str | None, max_results: int | None) -> tuple[list, str | None]:
    try:
        start = int(next_token or 0)
    except (TypeError, ValueError):
        raise ValidationException(f"NextToken {next_token!r} is invalid.") from None
    size = 10 if max_results is None else max_results
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise ValidationException("MaxResults must be between 1 and 100.")
    return items[start:start + size], (str(start + size) if start + size < len(items) else None)


def training_job_shape(job: TrainingJob) -> dict[str, Any]:
    request = job.request
    shape = {
        "TrainingJobName": job.name, "TrainingJobArn": job.arn, "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary_status, "ModelArtifacts": {"S3ModelArtifacts": job.model_artifacts or ""},
        "HyperParameters": request.get("HyperParameters") or {},
        "AlgorithmSpecification": request["AlgorithmSpecification"], "RoleArn": request.get("RoleArn", ""),
        "InputDataConfig": request.get("InputDataConfig") or [], "OutputDataConfig": request["OutputDataConfig"],
        "ResourceConfig": request.get("ResourceConfig") or {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                                              "VolumeSizeInGB": 30},
        "StoppingCondition": request.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
        "CreationTime": job.created, "LastModifiedTime": job.last_modified,
        "SecondaryStatusTransitions": job.transitions,
        "FinalMetricDataList": [{"MetricName": name, "Value": value, "Timestamp": at}
                                for name, (value, at) in job.final_metrics.items()],
        "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False)),
        "EnableInterContainerTrafficEncryption": bool(request.get("EnableInterContainerTrafficEncryption", False)),
        "EnableManagedSpotTraining": bool(request.get("EnableManagedSpotTraining", False)),
        "TrainingTimeInSeconds": job.seconds, "BillableTimeInSeconds": job.seconds,
    }
    optional = {"FailureReason": job.failure_reason, "TrainingStartTime": job.started,
                "TrainingEndTime": job.ended, "Environment": request.get("Environment"),
                "VpcConfig": request.get("VpcConfig"), "CheckpointConfig": request.get("CheckpointConfig"),
                "ExperimentConfig": request.get("ExperimentConfig"), "RetryStrategy": request.get("RetryStrategy")}
    shape.update({k: v for k, v in optional.items() if v is not None})
    return shape


def _within(value, after, before) -> bool:
    """CreationTimeAfter/Before arrive as epoch seconds on the JSON protocol."""
    stamp = value.timestamp()
    return (after is None or stamp > float(after)) and (before is None or stamp < float(before))


def _filter_sort_page(items: list, name_of, created_of, status_of, NameContains=None, StatusEquals=None,  # noqa: N803
                      SortBy="CreationTime", SortOrder="Descending", NextToken=None, MaxResults=None):  # noqa: N803
    keys = {"Name": name_of, "CreationTime": created_of, "Status": status_of}
    if SortBy not in keys or SortOrder not in ("Ascending", "Descending"):
        raise ValidationException("SortBy must be Name, CreationTime or Status; SortOrder Ascending or Descending.")
    found = [i for i in items if (not NameContains or NameContains.lower() in name_of(i).lower())
             and (not StatusEquals or status_of(i) == StatusEquals)]
    found.sort(key=keys[SortBy], reverse=SortOrder == "Descending")
    return _page(found, NextToken, MaxResults)


def endpoint_shape(endpoint: Endpoint, config_request: dict | None) -> dict:
    shape = {"EndpointName": endpoint.name, "EndpointArn": endpoint.arn, "EndpointConfigName": endpoint.config_name,
             "EndpointStatus": endpoint.status, "CreationTime": endpoint.created,
             "LastModifiedTime": endpoint.last_modified}
    if endpoint.failure_reason:
        shape["FailureReason"] = endpoint.failure_reason
    if config_request and endpoint.status == "InService":
        shape["ProductionVariants"] = [
            {"VariantName": v.get("VariantName", "AllTraffic"), "CurrentWeight": float(v.get("InitialVariantWeight", 1)),
             "DesiredWeight": float(v.get("InitialVariantWeight", 1)),
             "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
             "DesiredInstanceCount": v.get("InitialInstanceCount", 1)}
            for v in config_request.get("ProductionVariants", [])]
    return shape


def transform_job_shape(job: TransformJob) -> dict:
    request = job.request
    shape = {"TransformJobName": job.name, "TransformJobArn": job.arn, "TransformJobStatus": job.status,
             "ModelName": request["ModelName"], "TransformInput": request["TransformInput"],
             "TransformOutput": request["TransformOutput"], "TransformResources": request["TransformResources"],
             "CreationTime": job.created}
    optional = {"FailureReason": job.failure_reason, "TransformStartTime": job.started,
                "TransformEndTime": job.ended, "BatchStrategy": request.get("BatchStrategy"),
                "MaxPayloadInMB": request.get("MaxPayloadInMB"), "Environment": request.get("Environment"),
                "MaxConcurrentTransforms": request.get("MaxConcurrentTransforms"),
                "DataProcessing": request.get("DataProcessing")}
    shape.update({k: v for k, v in optional.items() if v is not None})
    return shape


def processing_job_shape(job: ProcessingJob) -> dict:
    request = job.request
    shape = {"ProcessingJobName": job.name, "ProcessingJobArn": job.arn, "ProcessingJobStatus": job.status,
             "ProcessingResources": request["ProcessingResources"], "AppSpecification": request["AppSpecification"],
             "RoleArn": request["RoleArn"], "CreationTime": job.created, "LastModifiedTime": job.last_modified}
    optional = {"ProcessingInputs": request.get("ProcessingInputs"),
                "ProcessingOutputConfig": request.get("ProcessingOutputConfig"),
                "StoppingCondition": request.get("StoppingCondition"), "Environment": request.get("Environment"),
                "NetworkConfig": request.get("NetworkConfig"), "ExperimentConfig": request.get("ExperimentConfig"),
                "FailureReason": job.failure_reason, "ExitMessage": job.exit_message,
                "ProcessingStartTime": job.started, "ProcessingEndTime": job.ended}
    shape.update({k: v for k, v in optional.items() if v is not None})
    return shape


class _Processing:
    """Processing jobs: mixed into SageMakerService below."""

    processing: ProcessingJobs

    def create_processing_job(self, ProcessingJobName: str, ProcessingResources: dict,  # noqa: N803
                              AppSpecification: dict, RoleArn: str, **request: Any) -> dict:  # noqa: N803
        job = self.processing.create({"ProcessingJobName": ProcessingJobName, "ProcessingResources":
                                      ProcessingResources, "AppSpecification": AppSpecification, "RoleArn": RoleArn,
                                      **request})
        return {"ProcessingJobArn": job.arn}

    def describe_processing_job(self, ProcessingJobName: str) -> dict:  # noqa: N803
        return processing_job_shape(self.processing.get(ProcessingJobName))

    def list_processing_jobs(self, SortBy: str = "CreationTime", SortOrder: str = "Descending",  # noqa: N803
                             NextToken: str | None = None, MaxResults: int | None = None,  # noqa: N803
                             NameContains: str | None = None, StatusEquals: str | None = None,  # noqa: N803
                             **_ignored: Any) -> dict:
        page, token = _filter_sort_page(self.processing.list(), lambda j: j.name, lambda j: j.created,
                                        lambda j: j.status, NameContains, StatusEquals, SortBy, SortOrder,
                                        NextToken, MaxResults)
        summaries = [{"ProcessingJobName": j.name, "ProcessingJobArn": j.arn, "CreationTime": j.created,
                      "ProcessingJobStatus": j.status, "LastModifiedTime": j.last_modified,
                      **({"ProcessingEndTime": j.ended} if j.ended else {}),
                      **({"FailureReason": j.failure_reason} if j.failure_reason else {}),
                      **({"ExitMessage": j.exit_message} if j.exit_message else {})} for j in page]
        return {"ProcessingJobSummaries": summaries, **({"NextToken": token} if token else {})}

    def stop_processing_job(self, ProcessingJobName: str) -> dict:  # noqa: N803
        self.processing.stop(ProcessingJobName)
        return {}


class _Hosting:
    """Models, endpoint configs, endpoints and transform jobs: mixed into SageMakerService below."""

    hosting: Hosting
    transforms: TransformJobs

    # ---- models ------------------------------------------------------------------------------------------
    def create_model(self, ModelName: str, **request: Any) -> dict:  # noqa: N803
        return {"ModelArn": self.hosting.create_model({"ModelName": ModelName, **request}).arn}

    def describe_model(self, ModelName: str) -> dict:  # noqa: N803
        model = self.hosting.model(ModelName)
        request = model.request
        shape = {"ModelName": model.name, "ModelArn": model.arn, "CreationTime": model.created,
                 "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation", False))}
        for key in ("PrimaryContainer", "Containers", "ExecutionRoleArn", "VpcConfig", "InferenceExecutionConfig"):
            if request.get(key) is not None:
                shape[key] = request[key]
        return shape

    def delete_model(self, ModelName: str) -> dict:  # noqa: N803
        self.hosting.delete_model(ModelName)
        return {}

    # ---- endpoint configs --------------------------------------------------------------------------------
    def create_endpoint_config(self, EndpointConfigName: str, ProductionVariants: list, **request: Any) -> dict:  # noqa: N803
        config = self.hosting.create_endpoint_config({"EndpointConfigName": EndpointConfigName,
                                                      "ProductionVariants": ProductionVariants, **request})
        return {"EndpointConfigArn": config.arn}

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict:  # noqa: N803
        config = self.hosting.config(EndpointConfigName)
        return {"EndpointConfigName": config.name, "EndpointConfigArn": config.arn, "CreationTime": config.created,
                "ProductionVariants": config.request["ProductionVariants"],
                **({"KmsKeyId": config.request["KmsKeyId"]} if config.request.get("KmsKeyId") else {})}

    def delete_endpoint_config(self, EndpointConfigName: str) -> dict:  # noqa: N803
        self.hosting.delete_endpoint_config(EndpointConfigName)
        return {}

    # ---- endpoints ---------------------------------------------------------------------------------------
    def create_endpoint(self, EndpointName: str, EndpointConfigName: str, Tags: list | None = None,  # noqa: N803
                        **_ignored: Any) -> dict:
        return {"EndpointArn": self.hosting.create_endpoint(EndpointName, EndpointConfigName, Tags).arn}

    def update_endpoint(self, EndpointName: str, EndpointConfigName: str, **_ignored: Any) -> dict:  # noqa: N803
        return {"EndpointArn": self.hosting.update_endpoint(EndpointName, EndpointConfigName).arn}

    def describe_endpoint(self, EndpointName: str) -> dict:  # noqa: N803
        endpoint = self.hosting.endpoint(EndpointName)
        config = self.hosting.configs.get(endpoint.serving_config or endpoint.config_name)
        return endpoint_shape(endpoint, config.request if config else None)

    def delete_endpoint(self, EndpointName: str) -> dict:  # noqa: N803
        self.hosting.delete_endpoint(EndpointName)
        return {}

    def list_endpoints(self, SortBy: str = "CreationTime", SortOrder: str = "Descending",  # noqa: N803
                       NextToken: str | None = None, MaxResults: int | None = None,  # noqa: N803
                       NameContains: str | None = None, StatusEquals: str | None = None,  # noqa: N803
                       **_ignored: Any) -> dict:
        page, token = _filter_sort_page(list(self.hosting.endpoints.values()), lambda e: e.name,
                                        lambda e: e.created, lambda e: e.status, NameContains, StatusEquals,
                                        SortBy, SortOrder, NextToken, MaxResults)
        summaries = [{"EndpointName": e.name, "EndpointArn": e.arn, "CreationTime": e.created,
                      "LastModifiedTime": e.last_modified, "EndpointStatus": e.status} for e in page]
        return {"Endpoints": summaries, **({"NextToken": token} if token else {})}

    # ---- transform jobs ----------------------------------------------------------------------------------
    def create_transform_job(self, TransformJobName: str, ModelName: str, TransformInput: dict,  # noqa: N803
                             TransformOutput: dict, TransformResources: dict, **request: Any) -> dict:  # noqa: N803
        job = self.transforms.create({"TransformJobName": TransformJobName, "ModelName": ModelName,
                                      "TransformInput": TransformInput, "TransformOutput": TransformOutput,
                                      "TransformResources": TransformResources, **request})
        return {"TransformJobArn": job.arn}

    def describe_transform_job(self, TransformJobName: str) -> dict:  # noqa: N803
        return transform_job_shape(self.transforms.get(TransformJobName))

    def list_transform_jobs(self, SortBy: str = "CreationTime", SortOrder: str = "Descending",  # noqa: N803
                            NextToken: str | None = None, MaxResults: int | None = None,  # noqa: N803
                            NameContains: str | None = None, StatusEquals: str | None = None,  # noqa: N803
                            **_ignored: Any) -> dict:
        page, token = _filter_sort_page(self.transforms.list(), lambda j: j.name, lambda j: j.created,
                                        lambda j: j.status, NameContains, StatusEquals, SortBy, SortOrder,
                                        NextToken, MaxResults)
        summaries = [{"TransformJobName": j.name, "TransformJobArn": j.arn, "CreationTime": j.created,
                      "TransformJobStatus": j.status, "LastModifiedTime": j.last_modified,
                      **({"TransformEndTime": j.ended} if j.ended else {}),
                      **({"FailureReason": j.failure_reason} if j.failure_reason else {})} for j in page]
        return {"TransformJobSummaries": summaries, **({"NextToken": token} if token else {})}

    def stop_transform_job(self, TransformJobName: str) -> dict:  # noqa: N803
        self.transforms.stop(TransformJobName)
        return {}


class SageMakerService(_Hosting, _Processing, JsonService):
    signing_name = "sagemaker"
    target_prefix = "SageMaker"

    def __init__(self, context: CloudContext):
        self.context = context
        self.training = TrainingJobs(context)
        self.hosting = Hosting(context)
        self.transforms = TransformJobs(context, self.hosting)
        self.processing = ProcessingJobs(context)
        context.registry["sagemaker"] = self  # sagemaker-runtime reaches the endpoints through it

    # ---- training jobs -------------------------------------------------------------------------------------

    def create_training_job(self, TrainingJobName: str, RoleArn: str, OutputDataConfig: dict,  # noqa: N803
                            **request: Any) -> dict:
        job = self.training.create({"TrainingJobName": TrainingJobName, "RoleArn": RoleArn,
                                    "OutputDataConfig": OutputDataConfig, **request})
        return {"TrainingJobArn": job.arn}

    def describe_training_job(self, TrainingJobName: str) -> dict:  # noqa: N803
        return training_job_shape(self.training.get(TrainingJobName))

    def list_training_jobs(self, NextToken: str | None = None, MaxResults: int | None = None,  # noqa: N803
                           NameContains: str | None = None, StatusEquals: str | None = None,  # noqa: N803
                           SortBy: str = "CreationTime", SortOrder: str = "Ascending",  # noqa: N803
                           CreationTimeAfter=None, CreationTimeBefore=None, LastModifiedTimeAfter=None,  # noqa: N803
                           LastModifiedTimeBefore=None, **_ignored: Any) -> dict:  # noqa: N803
        if SortBy not in SORT_KEYS or SortOrder not in ("Ascending", "Descending"):
            raise ValidationException("SortBy must be Name, CreationTime or Status; SortOrder Ascending or "
                                      "Descending.")
        found = [j for j in self.training.list()
                 if (not NameContains or NameContains.lower() in j.name.lower())
                 and (not StatusEquals or j.status == StatusEquals)
                 and _within(j.created, CreationTimeAfter, CreationTimeBefore)
                 and _within(j.last_modified, LastModifiedTimeAfter, LastModifiedTimeBefore)]
        found.sort(key=SORT_KEYS[SortBy], reverse=SortOrder == "Descending")
        page, token = _page(found, NextToken, MaxResults)
        summaries = []
        for job in page:
            summary = {"TrainingJobName": job.name, "TrainingJobArn": job.arn, "CreationTime": job.created,
                       "LastModifiedTime": job.last_modified, "TrainingJobStatus": job.status,
                       "SecondaryStatus": job.secondary_status}
            if job.ended:
                summary["TrainingEndTime"] = job.ended
            summaries.append(summary)
        return {"TrainingJobSummaries": summaries, **({"NextToken": token} if token else {})}

    def stop_training_job(self, TrainingJobName: str) -> dict:  # noqa: N803
        self.training.stop(TrainingJobName)
        return {}
