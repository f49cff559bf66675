"""The SageMaker training job of ml_train: its name (unique per Airflow run, the same on every retry), the script-mode
source bundle, and the CreateTrainingJob request."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile

from mwaa_platform.paths import include_path

ENTRY_POINT = "train_repeat_purchase.py"
METRICS = [
    {"Name": "validation:auc", "Regex": r"validation-auc=([0-9.]+);"},
    {"Name": "train:auc", "Regex": r"train-auc=([0-9.]+);"},
    {"Name": "validation:logloss", "Regex": r"validation-logloss=([0-9.]+);"},
]


def job_name(dag_id: str, run_id: str, prefix: str = "ml-train") -> str:
    """<prefix>-<run timestamp>-<hash of dag_id/run_id>, at most 63 characters, valid for SageMaker."""
    digest = hashlib.sha256(f"{dag_id}/{run_id}".encode()).hexdigest()[:8]
    stamp = re.sub(r"[^0-9]", "", run_id)[:14]
    name = f"{prefix}-{stamp}-{digest}" if stamp else f"{prefix}-{digest}"
    return name[:63].rstrip("-")


def run_prefix(run_id: str) -> str:
    """An S3-safe folder name for one Airflow run."""
    return re.sub(r"[^A-Za-z0-9._=-]", "_", run_id)


def source_bundle() -> tuple[bytes, str]:
    """include/sagemaker/ as a deterministic tar.gz (sorted, fixed mtimes) and its content hash, so the same code
    always lands at the same S3 key."""
    folder = include_path("sagemaker")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    body = buffer.getvalue()
    return body, hashlib.sha256(body).hexdigest()[:16]


def training_config(name: str, image: str, role: str, instance_type: str, source_uri: str, train_uri: str,
                    validation_uri: str, output_uri: str, hyperparameters: dict | None = None,
                    max_runtime_s: int = 3600) -> dict:
    hps = {"sagemaker_program": f'"{ENTRY_POINT}"', "sagemaker_submit_directory": f'"{source_uri}"',
           **{k: str(v) for k, v in (hyperparameters or {}).items()}}

    def channel(channel_name: str, uri: str) -> dict:
        return {"ChannelName": channel_name, "ContentType": "text/csv", "InputMode": "File",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                                "S3DataDistributionType": "FullyReplicated"}}}

    return {
        "TrainingJobName": name, "RoleArn": role, "HyperParameters": hps,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File", "MetricDefinitions": METRICS},
        "InputDataConfig": [channel("train", train_uri), channel("validation", validation_uri)],
        "OutputDataConfig": {"S3OutputPath": output_uri},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_s},
    }
