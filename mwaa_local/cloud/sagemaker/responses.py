"""SageMaker on the wire: the operations the local cloud runs itself (training jobs). Everything else falls through
to moto."""

from __future__ import annotations

from typing import Any

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.sagemaker.exceptions import ValidationException
from mwaa_local.cloud.sagemaker.training import TrainingJob, TrainingJobs
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


class SageMakerService(JsonService):
    signing_name = "sagemaker"
    target_prefix = "SageMaker"

    def __init__(self, context: CloudContext):
        self.context = context
        self.training = TrainingJobs(context)

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


def _within(value, after, before) -> bool:
    """CreationTimeAfter/Before arrive as epoch seconds on the JSON protocol."""
    stamp = value.timestamp()
    return (after is None or stamp > float(after)) and (before is None or stamp < float(before))
