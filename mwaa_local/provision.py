"""Makes the local cloud look like the AWS account this repository deploys to: the buckets, roles, Glue
database and secrets that include/config/platform.yaml (environment `local`) names. Idempotent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from mwaa_local.cloud.process import clients

TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ["glue.amazonaws.com", "redshift.amazonaws.com",
                                                                "sagemaker.amazonaws.com"]},
                   "Action": "sts:AssumeRole"}],
})


@dataclass
class Provisioned:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)

    def note(self, created: bool, what: str) -> None:
        (self.created if created else self.existing).append(what)


def local_settings() -> dict[str, Any]:
    """The `local` block of include/config/platform.yaml, read the way the DAGs read it."""
    from mwaa_platform.settings import settings

    return settings("local")


def _exists_error(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in (
        "BucketAlreadyOwnedByYou", "BucketAlreadyExists", "EntityAlreadyExists", "AlreadyExistsException",
        "ResourceExistsException",
    )


def provision(endpoint_url: str, connections: dict[str, dict] | None = None) -> Provisioned:
    """Creates what is missing; `connections` maps conn_id -> Airflow connection JSON for Secrets Manager."""
    config = local_settings()
    client = clients(endpoint_url, config["aws_region"])
    s3, iam, glue, secrets = client("s3"), client("iam"), client("glue"), client("secretsmanager")
    done = Provisioned()

    def attempt(what: str, create) -> None:
        try:
            create()
            done.note(True, what)
        except ClientError as exc:
            if not _exists_error(exc):
                raise
            done.note(False, what)

    for bucket in (config["mwaa_bucket"], config["data_lake_bucket"]):
        attempt(f"s3://{bucket}", lambda b=bucket: s3.create_bucket(Bucket=b))
    # MWAA requires versioning on its bucket: UpdateEnvironment pins object versions.
    s3.put_bucket_versioning(Bucket=config["mwaa_bucket"], VersioningConfiguration={"Status": "Enabled"})
    # ... and all public access blocked (`deploy` and the local MWAA API refuse a bucket without it).
    s3.put_public_access_block(Bucket=config["mwaa_bucket"], PublicAccessBlockConfiguration={
        flag: True for flag in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")})
    for arn in (config["glue"]["iam_role"], config["redshift"]["iam_role"]):
        role = arn.rsplit("/", 1)[1]
        attempt(f"iam role {role}", lambda r=role: iam.create_role(RoleName=r, AssumeRolePolicyDocument=TRUST_POLICY))
    database = config["glue"]["raw_database"]
    attempt(f"glue database {database}", lambda: glue.create_database(DatabaseInput={"Name": database}))

    wanted = {"aws_default": {"conn_type": "aws"}, **(connections or {})}
    for conn_id, conn in wanted.items():
        name = f"airflow/connections/{conn_id}"
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps(conn))
            done.note(True, f"secret {name}")
        except ClientError as exc:
            if not _exists_error(exc):
                raise
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps(conn))
            done.note(False, f"secret {name} (updated)")
    return done


def postgres_connection(dsn: str) -> dict:
    """An Airflow connection (JSON form, as stored in Secrets Manager) for a postgresql:// DSN."""
    from urllib.parse import unquote, urlsplit

    url = urlsplit(dsn)
    conn = {"conn_type": "postgres", "host": url.hostname, "port": url.port or 5432,
            "login": unquote(url.username or ""), "schema": url.path.lstrip("/")}
    if url.password:
        conn["password"] = unquote(url.password)
    return conn
