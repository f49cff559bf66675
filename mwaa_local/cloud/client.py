"""Talking to the local cloud as a client: where it listens, its dummy credentials, boto3 clients and its health.
Imports neither the server nor moto, so making a client stays cheap (tests, DAG tooling, the runtime)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
HEALTH_PATH = "/_localcloud/health"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
# What a job process (user code) inherits from the cloud's environment; nothing else leaks in.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
# Operations that only read: nothing to persist after them (moto's services and ours).
READ_OPERATION_PREFIXES = ("Get", "List", "Describe", "Search", "BatchGet", "Head")


def client_environment(endpoint_url: str) -> dict[str, str]:
    """What a process needs to talk to the local cloud with boto3, the Airflow provider, awswrangler or MLflow."""
    return {"AWS_ENDPOINT_URL": endpoint_url, **DUMMY_CREDENTIALS}


def clients(endpoint_url: str, region: str = DUMMY_CREDENTIALS["AWS_DEFAULT_REGION"]):
    """A boto3 client factory for the local cloud with dummy credentials: `clients(url)("s3")`."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=region, aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def client(service: str):
        # botocore prefixes MWAA's host (api., env.): a local endpoint has no such names.
        config = Config(inject_host_prefix=False) if service == "mwaa" else None
        return session.client(service, endpoint_url=endpoint_url, config=config)

    return client


def health(endpoint_url: str, timeout: float = 0.5) -> dict | None:
    try:
        with urllib.request.urlopen(endpoint_url + HEALTH_PATH, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def job_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """The whole environment of a process that runs user code for the cloud (a Glue script, a SageMaker job): what
    Python needs from ours, and the local cloud as its AWS with dummy credentials — never the cloud's own settings or
    a real AWS identity from the user's shell."""
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update({**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": region,
                "AWS_REGION": region, "PYTHONUNBUFFERED": "1"})
    return env
