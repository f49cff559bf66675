"""Processing jobs: inputs staged to their LocalPath, the entry point and arguments run (container paths mapped),
outputs uploaded; the provider's SageMakerProcessingOperator drives it."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator
from airflow.providers.common.compat.sdk import AirflowException

from tests.cloud.glue.airflow_context import context
from tests.cloud.redshift_data.conftest import assert_shape
from tests.cloud.sagemaker.conftest import ROLE, SCRIPTS, SKLEARN_IMAGE, classification_csv, job_name


def _config(world, name: str, threshold: float = 0.0, image: str = SKLEARN_IMAGE) -> dict:
    world.upload(f"proc/{name}/raw/part-0.csv", classification_csv(200, 3))
    code = world.upload(f"proc/{name}/code/preprocess.py", (SCRIPTS / "preprocess.py").read_bytes())
    return {
        "ProcessingJobName": name, "RoleArn": ROLE,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                  "VolumeSizeInGB": 10}},
        "AppSpecification": {"ImageUri": image,
                             "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"],
                             "ContainerArguments": ["--input", "/opt/ml/processing/input/data",
                                                    "--output", "/opt/ml/processing/output/train",
                                                    "--threshold", str(threshold)]},
        "Environment": {"REGION_TAG": "eu"},
        "ProcessingInputs": [
            {"InputName": "code", "S3Input": {"S3Uri": code, "LocalPath": "/opt/ml/processing/input/code",
                                              "S3DataType": "S3Prefix", "S3InputMode": "File"}},
            {"InputName": "data", "S3Input": {"S3Uri": f"s3://{world.bucket}/proc/{name}/raw/",
                                              "LocalPath": "/opt/ml/processing/input/data",
                                              "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": "train", "S3Output": {"S3Uri": f"s3://{world.bucket}/proc/{name}/train",
                                                 "LocalPath": "/opt/ml/processing/output/train",
                                                 "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def _wait(world, name: str) -> dict:
    deadline = time.monotonic() + 120
    while True:
        described = world.sm.describe_processing_job(ProcessingJobName=name)
        if described["ProcessingJobStatus"] not in ("InProgress", "Stopping"):
            return described
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_processing_operator_runs_the_script_and_uploads_outputs(world):
    name = job_name("proc")
    process = SageMakerProcessingOperator(task_id="process", config=_config(world, name), aws_conn_id=None,
                                           wait_for_completion=True, check_interval=1, action_if_job_exists="fail")
    process.execute(context())
    described = world.sm.describe_processing_job(ProcessingJobName=name)
    assert described["ProcessingJobStatus"] == "Completed"
    assert_shape("DescribeProcessingJob", described, service="sagemaker")
    assert_shape("ListProcessingJobs", world.sm.list_processing_jobs(NameContains=name), service="sagemaker")
    body = world.s3.get_object(Bucket=world.bucket, Key=f"proc/{name}/train/train.csv")["Body"].read()
    source = pd.read_csv(io.BytesIO(classification_csv(200, 3)))
    assert len(pd.read_csv(io.BytesIO(body))) == int((source["f1"] > 0).sum())
    streams = world.logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs",
                                              logStreamNamePrefix=f"{name}/")["logStreams"]
    events = world.logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs",
                                       logStreamName=streams[0]["logStreamName"])["events"]
    assert any("(region eu)" in e["message"] for e in events)


def test_a_failing_script_fails_the_job_and_the_task(world):
    name = job_name("proc-fail")
    process = SageMakerProcessingOperator(task_id="process", config=_config(world, name, threshold=1000),
                                           aws_conn_id=None, wait_for_completion=True, check_interval=1,
                                           action_if_job_exists="fail")
    with pytest.raises(AirflowException):
        process.execute(context())
    described = world.sm.describe_processing_job(ProcessingJobName=name)
    assert described["ProcessingJobStatus"] == "Failed"
    assert "threshold too high" in described["FailureReason"]
    assert "Contents" not in world.s3.list_objects_v2(Bucket=world.bucket, Prefix=f"proc/{name}/train/")


def test_unknown_image_and_missing_input(world):
    name = job_name("proc-img")
    world.sm.create_processing_job(**_config(world, name, image="123.dkr.ecr.us-east-1.amazonaws.com/custom:1"))
    described = _wait(world, name)
    assert described["ProcessingJobStatus"] == "Failed" and "cannot run image" in described["FailureReason"]
    name = job_name("proc-empty")
    config = _config(world, name)
    config["ProcessingInputs"][1]["S3Input"]["S3Uri"] = f"s3://{world.bucket}/proc/nothing-here/"
    world.sm.create_processing_job(**config)
    described = _wait(world, name)
    assert described["ProcessingJobStatus"] == "Failed" and "no S3 objects found" in described["FailureReason"]
