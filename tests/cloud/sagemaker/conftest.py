"""Helpers for the SageMaker tests: source tarballs and data in the local S3, and waiting for jobs."""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from mwaa_local.cloud.sagemaker import staging

SCRIPTS = Path(__file__).parent / "scripts"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"


tar_gz = staging.tar_gz_bytes  # the in-memory variant the cloud itself offers


def classification_csv(rows: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    label = (x @ np.array([1.5, -2.0, 0.5]) + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    lines = ["f1,f2,f3,label"] + [f"{a:.6f},{b:.6f},{c:.6f},{y}" for (a, b, c), y in zip(x, label, strict=True)]
    return ("\n".join(lines) + "\n").encode()


class SageMakerWorld:
    def __init__(self, aws):
        self.sm, self.s3, self.logs = aws("sagemaker"), aws("s3"), aws("logs")
        self.bucket = f"sm-{uuid.uuid4().hex[:12]}"
        self.s3.create_bucket(Bucket=self.bucket)

    def upload(self, key: str, data: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def source(self, *scripts: str) -> str:
        return self.upload(f"code/{uuid.uuid4().hex[:8]}/sourcedir.tar.gz",
                           tar_gz({name: (SCRIPTS / name).read_bytes() for name in scripts}))

    def channels(self, rows: int = 400) -> list[dict]:
        prefix = uuid.uuid4().hex[:8]
        self.upload(f"data/{prefix}/train/part-0.csv", classification_csv(rows, 1))
        self.upload(f"data/{prefix}/validation/part-0.csv", classification_csv(rows // 4, 2))
        return [{"ChannelName": name, "ContentType": "text/csv",
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3DataDistributionType": "FullyReplicated",
                                                 "S3Uri": f"s3://{self.bucket}/data/{prefix}/{name}/"}}}
                for name in ("train", "validation")]

    def training_config(self, name: str, entry_point: str, hyperparameters: dict | None = None,
                        channels: list[dict] | None = None, also: tuple[str, ...] = (), **overrides) -> dict:
        """`also`: more scripts of scripts/ in the source bundle, next to the entry point."""
        config = {
            "TrainingJobName": name, "RoleArn": ROLE,
            "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File",
                                       "MetricDefinitions": [{"Name": "validation:auc",
                                                              "Regex": r"validation-auc=([0-9.]+);"}]},
            "HyperParameters": {"sagemaker_program": f'"{entry_point}"',
                                "sagemaker_submit_directory": f'"{self.source(entry_point, *also)}"',
                                **{k: str(v) for k, v in (hyperparameters or {}).items()}},
            "InputDataConfig": self.channels() if channels is None else channels,
            "OutputDataConfig": {"S3OutputPath": f"s3://{self.bucket}/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        }
        config.update(overrides)
        return config

    def wait(self, name: str, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            described = self.sm.describe_training_job(TrainingJobName=name)
            if described["TrainingJobStatus"] not in ("InProgress", "Stopping"):
                return described
            assert time.monotonic() < deadline, f"{name} still {described['TrainingJobStatus']} after {timeout} s"
            time.sleep(0.2)

    def wait_for(self, name: str, secondary: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            described = self.sm.describe_training_job(TrainingJobName=name)
            if described["SecondaryStatus"] == secondary:
                return described
            assert described["TrainingJobStatus"] == "InProgress", described.get("FailureReason")
            assert time.monotonic() < deadline, f"{name} never reached {secondary}"
            time.sleep(0.1)

    def wait_for_log(self, name: str, line: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not (self._has_stream(name) and line in self.log_lines(name)):
            assert time.monotonic() < deadline, f"{name} never logged {line!r}"
            time.sleep(0.1)

    def _has_stream(self, name: str) -> bool:
        groups = self.logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/TrainingJobs")["logGroups"]
        return bool(groups) and bool(self.logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/")["logStreams"])

    def log_lines(self, name: str) -> list[str]:
        streams = self.logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                                 logStreamNamePrefix=f"{name}/")["logStreams"]
        assert len(streams) == 1 and streams[0]["logStreamName"].startswith(f"{name}/algo-1-")
        events = self.logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                          logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
        return [event["message"] for event in events]

    def untar(self, uri: str) -> dict[str, bytes]:
        bucket, key = uri[5:].split("/", 1)
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


@pytest.fixture
def world(aws):
    return SageMakerWorld(aws)


def job_name(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
