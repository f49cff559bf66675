"""Makes the local cloud look like the AWS account this repository deploys to, from the same CloudFormation
templates (infra/*.yaml with infra/params/local.json, applied by mwaa_local.infra.local_apply): buckets, KMS key,
roles, Glue database/crawler/job and connection secrets, as include/config/platform.yaml (environment `local`) names
them. Then the local-only secrets: the connections given by the caller and aws_default. Idempotent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from mwaa_local.cloud.process import clients
from mwaa_local.infra.local_apply import apply_local


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


def provision(endpoint_url: str, connections: dict[str, dict] | None = None) -> Provisioned:
    """Applies the templates, then stores `connections` (conn_id -> Airflow connection JSON) in Secrets Manager."""
    client = clients(endpoint_url, local_settings()["aws_region"])
    applied = apply_local(client, "local")
    done = Provisioned(created=list(applied.created), existing=list(applied.existing))

    # aws_default is a secret only locally: on MWAA it is the execution role, and MWAA's secrets backend never
    # looks it up (connections_lookup_pattern), so the templates do not create it.
    secrets = client("secretsmanager")
    wanted = {"aws_default": {"conn_type": "aws"}, **(connections or {})}
    for conn_id, conn in wanted.items():
        name = f"airflow/connections/{conn_id}"
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps(conn))
            done.note(True, f"secret {name}")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
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
