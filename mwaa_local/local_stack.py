"""The local stand-in for an MWAA environment and its AWS account, ready to run DAGs:
the local cloud provisioned as include/config/platform.yaml says, the deployable tree synced to the MWAA bucket,
the source database connection in Secrets Manager, and a migrated Airflow metadata database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from mwaa_local import bucket_sync, dag_runner, provision
from mwaa_local.cloud import process

SOURCE_CONN_ID = "retail_source_db"


@dataclass
class Reset:
    """What reset_pipeline_outputs removed."""

    objects: int = 0
    tables: list[str] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)


@dataclass
class LocalStack:
    endpoint_url: str
    source_dsn: str
    airflow_home: Path

    @classmethod
    def up(cls, endpoint_url: str, source_dsn: str, airflow_home: Path | None = None) -> LocalStack:
        stack = cls(endpoint_url, source_dsn, airflow_home or dag_runner.default_airflow_home())
        provision.provision(endpoint_url, {SOURCE_CONN_ID: provision.postgres_connection(source_dsn)})
        stack.sync()
        dag_runner.migrate_metadata_db(stack.env())
        return stack

    def client(self, service: str):
        return process.clients(self.endpoint_url)(service)

    def sync(self) -> bucket_sync.SyncResult:
        """dags/, include/, plugins.zip, requirements.txt, startup.sh -> the MWAA bucket, as a deploy does."""
        return bucket_sync.sync(self.client("s3"), provision.local_settings()["mwaa_bucket"])

    def reset_pipeline_outputs(self) -> Reset:
        """Empties the data lake bucket, removes the Glue catalog tables the pipeline owns (those located under the
        lake: their partitions and columns from earlier runs go with them) and drops the warehouse schemas, so a run
        starts from zero (the demo's numbers then describe this run alone)."""
        from mwaa_local.redshift_query import query

        config = provision.local_settings()
        lake = config["data_lake_bucket"]
        s3, done = self.client("s3"), Reset()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=lake):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=lake, Delete={"Objects": keys})
                done.objects += len(keys)
        glue, database = self.client("glue"), config["glue"]["raw_database"]
        try:
            tables = [t for page in glue.get_paginator("get_tables").paginate(DatabaseName=database)
                      for t in page["TableList"]]
        except glue.exceptions.EntityNotFoundException:
            tables = []
        for table in tables:  # only what a crawl of the lake created; a user's own tables stay
            if table.get("StorageDescriptor", {}).get("Location", "").startswith(f"s3://{lake}/"):
                glue.delete_table(DatabaseName=database, Name=table["Name"])
                done.tables.append(table["Name"])
        done.schemas = ["analytics", "staging"]
        for schema in done.schemas:
            query(self.client("redshift-data"), f"DROP SCHEMA IF EXISTS {schema} CASCADE",
                  config["redshift"]["workgroup"], config["redshift"]["database"])
        return done

    def env(self) -> dict[str, str]:
        """Airflow's environment for a run of the DAGs as deployed: the MWAA bucket's dags/ and plugins.zip pulled
        into <airflow_home>/deployed first (as MWAA's workers do), never the working tree."""
        deployed = bucket_sync.pull(self.client("s3"), provision.local_settings()["mwaa_bucket"],
                                    self.airflow_home / "deployed")
        return dag_runner.local_airflow_env(self.endpoint_url, self.airflow_home, deployed)

    def run_interval(self, dag_id: str, day: dt.date) -> dag_runner.DagRunResult:
        """Runs the daily data interval [day, day+1). A manual Airflow 3 run gets the interval that ENDS at its
        logical date, so the run's logical date is day+1."""
        logical = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        log_file = self.airflow_home / "runs" / f"{dag_id}-{day.isoformat()}.log"
        return dag_runner.run_dag(dag_id, self.env(), logical.isoformat(), log_file=log_file)
