"""What Airflow needs around it: the local cloud (the AWS account), PostgreSQL (the metadata DB `airflow`; a user
DSN overrides it), the account provisioned, connections and variables seeded into Secrets Manager, the working
tree deployed to the MWAA bucket, and the MLflow tracking server when the ML DAGs exist (dags/ml_*.py). Remembers
what it started, so a failed `up` can end exactly that."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaa_local import bucket_sync, mlflow_server, paths, postgres, provision
from mwaa_local.cloud import process

METADATA_DB = "airflow"
SOURCE_DB = "retail"
SOURCE_CONN_ID = "retail_source_db"


def sqlalchemy_url(dsn: str) -> str:
    """Airflow's metadata DB URL for a postgresql:// DSN (psycopg2 driver, which the lock installs)."""
    scheme, sep, rest = dsn.partition("://")
    if scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
        from mwaa_local.errors import UserError

        raise UserError(f"--dsn must be a postgresql:// URL (got {scheme}://...)")
    return f"postgresql+psycopg2://{rest}"


@dataclass
class Services:
    endpoint_url: str
    region: str
    bucket: str
    metadata_url: str
    source_dsn: str
    started: list[str] = field(default_factory=list)  # "cloud", "postgres", "mlflow": what this `up` started
    cloud: process.CloudProcess | None = None
    startup_script: Path | None = None  # deployed as the environment's startup.sh instead of the repository's
    server_dsn: str | None = None  # maintenance DSN of the PostgreSQL server (embedded, or --dsn)

    def deploy(self) -> bucket_sync.SyncResult:
        result = bucket_sync.sync(self.s3(), self.bucket)
        if self.startup_script is not None:
            result.uploaded = [k for k in result.uploaded if k != "startup.sh"]
            self.s3().put_object(Bucket=self.bucket, Key="startup.sh", Body=self.startup_script.read_bytes())
        return result

    def s3(self) -> Any:
        return process.clients(self.endpoint_url, self.region)("s3")

    def stop_started(self) -> None:
        """Ends what this `up` started (never a cloud or server that was already running)."""
        if "cloud" in self.started and self.cloud is not None and self.cloud.process is not None:
            from mwaa_local import pid_records

            record = pid_records.read(process.record_name(int(self.endpoint_url.rsplit(":", 1)[1])))
            proc = record.process() if record else None
            if proc is not None:
                pid_records.terminate_tree(proc)
            if record:
                pid_records.remove(record)
        if "mlflow" in self.started:
            mlflow_server.stop()
        if "postgres" in self.started:
            postgres.stop()
        self.started.clear()


def start(cloud_port: int, dsn: str | None, say) -> Services:
    config = provision.local_settings()
    started: list[str] = []
    cloud = process.ensure_running(cloud_port)
    if cloud.process is not None:
        started.append("cloud")
    say(f"local cloud: {cloud.endpoint_url} ({'started' if cloud.process else 'already running'})")
    services = Services(cloud.endpoint_url, config["aws_region"], config["mwaa_bucket"], "", "", started, cloud)
    try:
        if dsn:
            server = dsn
            say("PostgreSQL: the metadata DB is --dsn (yours to manage)")
        else:
            was_running = postgres.user_dsn() is not None or postgres.running_port() is not None
            server = postgres.ensure_server()
            if not was_running:
                started.append("postgres")
            say(f"PostgreSQL: {postgres.with_database(server, METADATA_DB)} "
                f"({'already running' if was_running else 'started'})")
        services.server_dsn = server
        services.metadata_url = sqlalchemy_url(dsn if dsn else postgres.create_database(METADATA_DB, server))
        services.source_dsn = postgres.create_database(SOURCE_DB, postgres.with_database(server, "postgres")) \
            if not dsn else postgres.with_database(dsn, SOURCE_DB)
    except BaseException:
        services.stop_started()
        raise
    return services


def seed_secrets(services: Services, variables: dict[str, Any]) -> list[str]:
    """Connections (aws_default, the source DB) and variables into Secrets Manager, where MWAA's Airflow reads them."""
    done = provision.provision(services.endpoint_url, {SOURCE_CONN_ID: provision.postgres_connection(services.source_dsn)})
    secrets = process.clients(services.endpoint_url, services.region)("secretsmanager")
    for key, value in variables.items():
        name, text = f"airflow/variables/{key}", value if isinstance(value, str) else json.dumps(value)
        try:
            secrets.create_secret(Name=name, SecretString=text)
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=text)
    return [s for s in done.created + done.existing if s.startswith("secret")] + \
        [f"secret airflow/variables/{k}" for k in variables]


def ml_dags() -> list[str]:
    """The ML DAG files of the working tree: MLflow is part of the environment when there is one."""
    return sorted(path.name for path in paths.DAGS.glob("ml_*.py"))


def start_mlflow(services: Services, port: int) -> mlflow_server.MlflowServer:
    """The MLflow server the ML DAGs log to (reused if ours already answers on `port`; a server this call starts
    is ended with what this `up` started), and its connection in Secrets Manager for Airflow."""
    config = provision.local_settings()["mlflow"]
    server = mlflow_server.ensure_server(services.endpoint_url, config["artifact_bucket"], port=port,
                                         postgres_dsn=services.server_dsn)
    if server.pid is not None:
        services.started.append("mlflow")
    mlflow_server.store_connection(services.endpoint_url, server, config["connection_id"])
    return server


def forget_dead_mlflow() -> None:
    """Drops the MLflow pid record if its process is gone (a live server is left alone)."""
    import psutil

    path = mlflow_server.pid_record_path()
    try:
        record = json.loads(path.read_text())
        alive = abs(psutil.Process(record["pid"]).create_time() - record["process_started"]) < 2
    except (OSError, ValueError, KeyError, psutil.Error):
        alive = False
    if not alive:
        path.unlink(missing_ok=True)
