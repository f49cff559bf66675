"""
### Retail ETL: PostgreSQL (RDS) -> S3 raw -> Glue crawler + curation job -> data-quality gate -> Redshift

One run per daily data interval. Every step is idempotent for its interval: the extract overwrites
`raw/<table>/dt=<day>/` (the interval's rows, plus rows committed late into intervals already extracted), the
curation job replaces `curated/` and `quarantine/` for that day, and the warehouse load (COPY into staging +
MERGE where the newer updated_at wins, one transaction) leaves the tables unchanged when re-run. Invalid rows go
to `quarantine/<table>/dt=<day>/` with a reject reason; a breached expectation stops the run before the load.
Publishes the `retail_warehouse` asset for the ML DAGs.
"""

from datetime import timedelta

import pendulum
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.sdk import CronDataIntervalTimetable, dag, task

from mwaa_platform import etl
from mwaa_platform.assets import RETAIL_WAREHOUSE
from mwaa_platform.extract import TABLES
from mwaa_platform.operators.data_quality import DataQualityGateOperator
from mwaa_platform.operators.extract import IncrementalExtractOperator
from mwaa_platform.operators.glue import GlueJobOperator
from mwaa_platform.settings import settings


@dag(
    dag_id="retail_etl",
    description="Daily retail ETL from PostgreSQL through S3, Glue and a quality gate into Redshift",
    doc_md=__doc__,
    # A real daily data interval [day, day+1): Airflow 3's "@daily" would give start == end.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # intervals load in order: a later interval must not MERGE before an earlier one
    tags=["etl", "retail", "redshift", "glue"],
    default_args={"owner": "data-platform", "retries": 2,
                  "retry_delay": timedelta(seconds=settings()["retry_delay_seconds"])},
)
def retail_etl():
    config = settings()
    bucket = config["data_lake_bucket"]
    poll = config["poll_interval_seconds"]

    # the interval's rows plus the late rows of the table's lookback (include/config: extract.lookback_hours)
    extracts = [IncrementalExtractOperator(task_id=f"extract_{table}", table=table, s3_bucket=bucket) for table in TABLES]

    crawl_raw = GlueCrawlerOperator(task_id="crawl_raw", config=etl.crawler_config(), deferrable=True, poll_interval=poll)

    curate = GlueJobOperator(
        task_id="curate", deferrable=True, verbose=True, job_poll_interval=poll, waiter_delay=poll, **etl.curate_job_kwargs()
    )

    gates = [DataQualityGateOperator(task_id=f"quality_gate_{table}", bucket=bucket, table=table) for table in TABLES]

    @task
    def warehouse_sql(data_interval_start=None) -> list[str]:
        return etl.warehouse_batch(data_interval_start.strftime("%Y-%m-%d"))

    load_sql = warehouse_sql()  # rendered after the gates pass, so a gated run never renders a load
    load_warehouse = RedshiftDataOperator(
        task_id="load_warehouse",
        sql=load_sql,
        workgroup_name=config["redshift"]["workgroup"],
        database=config["redshift"]["database"],
        deferrable=True,
        poll_interval=poll,
        outlets=[RETAIL_WAREHOUSE],
    )

    extracts >> crawl_raw >> curate >> gates >> load_sql >> load_warehouse


retail_etl()
