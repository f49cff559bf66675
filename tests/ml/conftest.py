"""The ML stack for end-to-end tests: the session's local cloud, a PostgreSQL and a real MLflow server (basic auth,
artifacts in the local S3) of their own, a migrated Airflow metadata DB, the mlflow_default connection in the local
Secrets Manager, and a warehouse holding the seed generator's order history (`Plan.history_days`: a real
repeat-purchase signal), loaded as the ETL's load leaves it."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest

from mwaa_local import mlflow_server, postgres, provision
from mwaa_local.cloud.process import free_port
from mwaa_local.local_stack import LocalStack
from mwaa_local.seed import warehouse as seed_warehouse
from mwaa_local.seed.generate import Plan
from tests.ml import warehouse

HISTORY = Plan(orders=1_500, start=dt.date(2026, 1, 1), days=3, seed=11, history_days=120, customer_count=3_000)


class MlStack:
    def __init__(self, stack: LocalStack, server: mlflow_server.MlflowServer, mlflow_state: Path, pg_dsn: str,
                 port: int):
        self.stack, self.server, self.mlflow_state, self.pg_dsn, self.port = stack, server, mlflow_state, pg_dsn, port
        self.config = provision.local_settings()

    def client(self):
        import os

        from mlflow import MlflowClient

        os.environ.update(self.server.client_env())
        return MlflowClient(tracking_uri=self.server.url, registry_uri=self.server.url)

    def start_mlflow(self) -> None:
        self.server = mlflow_server.ensure_server(self.stack.endpoint_url, self.config["mlflow"]["artifact_bucket"],
                                                  port=self.port, state_dir=self.mlflow_state, postgres_dsn=self.pg_dsn)

    def stop_mlflow(self) -> None:
        mlflow_server.stop_at(self.mlflow_state)

    def set_connection(self, conn: dict) -> None:
        provision.provision(self.stack.endpoint_url, {self.config["mlflow"]["connection_id"]: conn})

    def run(self, conf: dict | None = None):
        from mwaa_local import dag_runner

        result = dag_runner.run_dag("ml_train", self.stack.env(), conf=conf)
        print(f"ml_train {conf}: {result.state} {result.tasks} log {result.log_file}")
        return result


@pytest.fixture(scope="session")
def ml(local_cloud, tmp_path_factory):
    # A generous start deadline: on a loaded shared machine MLflow's first start (schema migration) took > 5 min.
    mlflow_server.START_TIMEOUT_S = max(mlflow_server.START_TIMEOUT_S, 900)
    folder = Path(tempfile.mkdtemp(prefix="mwaa-ml-e2e-"))  # not pytest's tmp: PostgreSQL may run as `pgserver`
    state = tmp_path_factory.mktemp("mlflow")
    try:  # a failed setup stops what it started too (a leaked PostgreSQL outlives the session)
        pg_dsn = postgres.ensure_server(folder / "pg", port=0)
        stack = LocalStack.up(local_cloud.endpoint_url, postgres.create_database("ml_source", pg_dsn),
                              tmp_path_factory.mktemp("airflow-home"))
        port = free_port()
        config = provision.local_settings()
        server = mlflow_server.ensure_server(local_cloud.endpoint_url, config["mlflow"]["artifact_bucket"], port=port,
                                             state_dir=state, postgres_dsn=pg_dsn)
        harness = MlStack(stack, server, state, pg_dsn, port)
        harness.set_connection(server.connection())
        redshift, s3 = stack.client("redshift-data"), stack.client("s3")
        warehouse.reset_schema(redshift)
        if config["ml"]["bucket"] != config["data_lake_bucket"]:
            s3.create_bucket(Bucket=config["ml"]["bucket"])
        seed_warehouse.load_orders(redshift, s3, config["data_lake_bucket"], config["redshift"]["iam_role"], HISTORY,
                                   warehouse.WORKGROUP, warehouse.DATABASE)
        yield harness
    finally:
        mlflow_server.stop_at(state)
        postgres.stop(folder / "pg")
        shutil.rmtree(folder, ignore_errors=True)
