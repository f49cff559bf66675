"""What goes into the MLflow run of a SageMaker training job, computed from DescribeTrainingJob (no Airflow, no
network): params, metrics, tags and the artifact locations."""

from __future__ import annotations

import json
import re

AIRFLOW_TAGS = ("dag_id", "run_id", "task_id")


def metric_name(sagemaker_name: str) -> str:
    """`validation:auc` -> `validation_auc` (MLflow names allow no colon)."""
    return re.sub(r"[^A-Za-z0-9_./ -]", "_", sagemaker_name)


def hyperparameters(job: dict) -> dict[str, str]:
    params = {}
    for key, raw in sorted((job.get("HyperParameters") or {}).items()):
        if key.startswith("sagemaker_") or key.startswith("_tuning"):
            continue
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            value = raw
        params[key] = str(value)
    return params


def final_metrics(job: dict) -> dict[str, float]:
    metrics = {metric_name(m["MetricName"]): float(m["Value"]) for m in job.get("FinalMetricDataList") or []}
    start, end = job.get("TrainingStartTime"), job.get("TrainingEndTime")
    if start and end:
        metrics["sagemaker_training_seconds"] = round((end - start).total_seconds(), 3)
    return metrics


def channels(job: dict) -> dict[str, str]:
    return {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job.get("InputDataConfig") or []
            if "S3DataSource" in c.get("DataSource", {})}


def job_tags(job: dict) -> dict[str, str]:
    algorithm = job.get("AlgorithmSpecification") or {}
    resources = job.get("ResourceConfig") or {}
    tags = {"sagemaker.training_job_name": job["TrainingJobName"], "sagemaker.training_job_arn": job["TrainingJobArn"],
            "sagemaker.image": algorithm.get("TrainingImage", ""),
            "sagemaker.instance_type": resources.get("InstanceType", ""),
            "sagemaker.instance_count": str(resources.get("InstanceCount", "")),
            "sagemaker.model_artifacts": (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts", "")}
    tags.update({f"data.{name}": uri for name, uri in channels(job).items()})
    return tags


def airflow_tags(dag_id: str, run_id: str, task_id: str, try_number: int) -> dict[str, str]:
    return {"airflow.dag_id": dag_id, "airflow.run_id": run_id, "airflow.task_id": task_id,
            "airflow.try_number": str(try_number)}


def run_filter(dag_id: str, run_id: str, task_id: str, job_name: str) -> str:
    """The search that finds the run an earlier try of the same task made for the same job (no ghost runs)."""
    def quote(value: str) -> str:
        return value.replace("'", "\\'")

    return " and ".join([f"tags.`airflow.dag_id` = '{quote(dag_id)}'", f"tags.`airflow.run_id` = '{quote(run_id)}'",
                         f"tags.`airflow.task_id` = '{quote(task_id)}'",
                         f"tags.`sagemaker.training_job_name` = '{quote(job_name)}'"])


def output_tar_uri(job: dict) -> str:
    return f"{job['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job['TrainingJobName']}/output/output.tar.gz"


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key
