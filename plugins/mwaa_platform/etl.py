"""What the retail ETL DAG needs at run time, kept out of the DAG file: Glue job/crawler definitions and the
warehouse batch for one interval. Settings are read here (a local YAML file, no network), never in tasks' hot paths."""

from __future__ import annotations

from mwaa_platform.extract import TABLES
from mwaa_platform.settings import settings

CRAWLER_NAME = "retail_raw"
CURATE_JOB_NAME = "retail_curate"
CURATE_PYTHON_MODULES = "duckdb>=1.4.4,pyarrow>=14.0"  # comma-separated as Glue reads it: no ranges with commas
INTERVAL_DATE = "{{ data_interval_start.strftime('%Y-%m-%d') }}"


def glue_script_uri(name: str) -> str:
    """include/ ships to s3://<mwaa bucket>/dags/include/ (locally: ./mwaa-local syncs it), so Glue reads the
    very script version that was deployed with the DAG."""
    return f"s3://{settings()['mwaa_bucket']}/dags/include/glue/{name}"


def crawler_config() -> dict:
    config = settings()
    return {
        "Name": CRAWLER_NAME,
        "Role": config["glue"]["iam_role"],
        "DatabaseName": config["glue"]["raw_database"],
        "Targets": {"S3Targets": [{"Path": f"s3://{config['data_lake_bucket']}/raw/"}]},
        "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
    }


def curate_job_kwargs() -> dict:
    return {
        "job_name": CURATE_JOB_NAME,
        "script_location": glue_script_uri("curate_retail.py"),
        "iam_role_arn": settings()["glue"]["iam_role"],
        "create_job_kwargs": {
            "Command": {"Name": "pythonshell", "PythonVersion": "3.9",
                        "ScriptLocation": glue_script_uri("curate_retail.py")},
            # The curation streams through DuckDB: not in pythonshell 3.9's preloaded analytics set, so Glue pip-
            # installs it (newest release for Python 3.9: 1.4.x); the local cloud checks the local Python has it.
            "DefaultArguments": {"--extra-py-files": glue_script_uri("retail_curation.py"),
                                 "--additional-python-modules": CURATE_PYTHON_MODULES},
            "MaxCapacity": 1.0,
            "MaxRetries": 0,  # Airflow owns retries (retry-safe: see mwaa_platform.operators.glue)
            "Timeout": 60,
        },
        "script_args": {
            "--data_bucket": settings()["data_lake_bucket"],
            "--tables": ",".join(TABLES),
            "--dt": INTERVAL_DATE,
        },
    }


def warehouse_batch(interval_date: str) -> list[str]:
    """Schema DDL (idempotent) and every table's COPY + MERGE for one interval: ONE BatchExecuteStatement,
    so the interval's dimensions and facts commit together or not at all."""
    from mwaa_platform.warehouse_sql import load_batch, schema_statements

    config = settings()
    return schema_statements() + load_batch(config["data_lake_bucket"], interval_date, config["redshift"]["iam_role"])


# Source table -> (warehouse table, business key), for reports and reconciliation.
WAREHOUSE_TABLES = {
    "customers": ("analytics.dim_customer", "customer_id"),
    "products": ("analytics.dim_product", "product_id"),
    "orders": ("analytics.fact_orders", "order_id"),
    "order_items": ("analytics.fact_order_items", "order_item_id"),
}
