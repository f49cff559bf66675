"""boto3 clients for a deploy target: the local cloud (started in the background when it is not running, as
`demo` does; `./mwaa-local stop` ends it), or AWS through the SDK's credential chain (in CI: GitHub OIDC)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mwaa_local.deploy.config import Target

EXECUTION_ROLE = "arn:aws:iam::123456789012:role/mwaa-local-execution"
BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
             "RestrictPublicBuckets": True}


def factory(target: Target, port: int) -> Callable[[str], Any]:
    if target.local_cloud:
        from mwaa_local.cloud import process

        cloud = process.ensure_running(port)
        return process.clients(cloud.endpoint_url, target.region)
    import boto3

    session = boto3.session.Session(region_name=target.region)
    return lambda service: session.client(service)


def provision_local(target: Target, client: Callable[[str], Any], say: Callable[[str], None]) -> None:
    """The local account as MWAA needs it: the bucket (versioned, all public access blocked) and the environment,
    created when missing. Never used against AWS (that is infrastructure's job: infra/)."""
    s3, mwaa = client("s3"), client("mwaa")
    try:
        s3.head_bucket(Bucket=target.bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=target.bucket)
        s3.put_bucket_versioning(Bucket=target.bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket=target.bucket, PublicAccessBlockConfiguration=BLOCK_ALL)
        say(f"created s3://{target.bucket} (versioned, public access blocked)")
    if target.environment not in mwaa.list_environments()["Environments"]:
        mwaa.create_environment(Name=target.environment, SourceBucketArn=f"arn:aws:s3:::{target.bucket}",
                                ExecutionRoleArn=target.execution_role_arn or EXECUTION_ROLE,
                                DagS3Path=target.dag_s3_path.strip("/"), NetworkConfiguration={})
        say(f"created MWAA environment {target.environment} on the local cloud")
    _settle(mwaa, target.environment)


def _settle(mwaa: Any, name: str, timeout: float = 300) -> None:
    import time

    deadline = time.monotonic() + timeout
    while mwaa.get_environment(Name=name)["Environment"]["Status"] in ("CREATING", "UPDATING"):
        if time.monotonic() > deadline:
            from mwaa_local.errors import UserError

            raise UserError(f"the local MWAA environment {name} did not settle within {timeout:.0f} s")
        time.sleep(0.2)
