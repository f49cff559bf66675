"""Helpers for the Glue tests: upload a script, create a job, wait for a run to end."""

from __future__ import annotations

import itertools
import time
import uuid
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
ACTIVE = ("STARTING", "RUNNING", "STOPPING", "WAITING")
_names = itertools.count()


@pytest.fixture(scope="session")
def glue_bucket(local_cloud):
    import boto3

    s3 = boto3.client("s3", endpoint_url=local_cloud.endpoint_url, region_name="us-east-1")
    s3.create_bucket(Bucket="glue-tests")
    return "glue-tests"


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def make_job(aws, glue_bucket):
    """make_job('fails.py' or source text, **CreateJob kwargs) -> job name."""
    def make(script: str, command: str = "pythonshell", **kwargs) -> str:
        name = unique(kwargs.pop("prefix", "job"))
        body = (SCRIPTS / script).read_bytes() if script.endswith(".py") else script.encode()
        key = f"scripts/{name}.py"
        aws("s3").put_object(Bucket=glue_bucket, Key=key, Body=body)
        aws("glue").create_job(Name=name, Role="arn:aws:iam::123456789012:role/glue",
                               Command={"Name": command, "ScriptLocation": f"s3://{glue_bucket}/{key}"}, **kwargs)
        return name
    return make


def wait_run(glue, job: str, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] not in ACTIVE:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run['JobRunState']} after {timeout} s")
        time.sleep(0.05)


def wait_state(glue, job: str, run_id: str, state: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] == state:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run['JobRunState']}, never reached {state}")
        time.sleep(0.05)


def log_messages(logs, group: str, stream: str) -> list[str]:
    return [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream,
                                                       startFromHead=True)["events"]]


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_file(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} was never written")
        time.sleep(0.05)
    return path.read_text()
