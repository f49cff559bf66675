"""What one ETL interval moved where: per table, rows extracted (of which late: committed into an earlier,
already extracted interval) / curated / quarantined (by reason) / loaded, from the extract's and the curation
job's counts reports in S3, and each warehouse table's row count next to the source's."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from mwaa_local import provision
from mwaa_local.redshift_query import query
from mwaa_platform.etl import WAREHOUSE_TABLES
from mwaa_platform.extract import SOURCE_SCHEMA, report_key


def curate_counts(s3: Any, bucket: str, day: dt.date) -> dict[str, dict]:
    counts = {}
    for table in WAREHOUSE_TABLES:
        key = f"reports/curate/{table}/dt={day.isoformat()}/counts.json"
        counts[table] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return counts


def extract_counts(s3: Any, bucket: str, day: dt.date) -> dict[str, dict]:
    """The extract's own report per table: rows of the interval and late rows picked up from earlier intervals."""
    return {table: json.loads(s3.get_object(Bucket=bucket, Key=report_key(table, day.isoformat()))["Body"].read())
            for table in WAREHOUSE_TABLES}


def warehouse_counts(redshift_data: Any, workgroup: str, database: str) -> dict[str, int]:
    return {
        table: query(redshift_data, f"SELECT count(*) AS n FROM {target}", workgroup, database)[0]["n"]
        for table, (target, _) in WAREHOUSE_TABLES.items()
    }


def source_counts(dsn: str) -> dict[str, dict[str, int]]:
    """Rows in each source table, and distinct non-null business keys (what the warehouse should hold)."""
    import psycopg2

    counts = {}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for table, (_, key) in WAREHOUSE_TABLES.items():
            cur.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {SOURCE_SCHEMA}.{table}")
            rows, keys = cur.fetchone()
            counts[table] = {"rows": rows, "distinct_keys": keys}
    conn.close()
    return counts


def staging_counts(redshift_data: Any, workgroup: str, database: str) -> dict[str, int]:
    """Rows the last load COPY'd into staging and MERGEd (staging keeps them until the next load empties it)."""
    return {
        table: query(redshift_data, f"SELECT count(*) AS n FROM staging.stg_{table}", workgroup, database)[0]["n"]
        for table in WAREHOUSE_TABLES
    }


def interval_summary(stack, day: dt.date) -> dict:
    """The JSON summary of one interval (see ./mwaa-local demo --summary-json)."""
    config = provision.local_settings()
    curated = curate_counts(stack.client("s3"), config["data_lake_bucket"], day)
    extracted = extract_counts(stack.client("s3"), config["data_lake_bucket"], day)
    redshift = stack.client("redshift-data"), config["redshift"]["workgroup"], config["redshift"]["database"]
    warehouse, loaded = warehouse_counts(*redshift), staging_counts(*redshift)
    source = source_counts(stack.source_dsn)
    tables = {}
    for table, (target, _) in WAREHOUSE_TABLES.items():
        report = curated[table]
        tables[table] = {
            "extracted": report["rows_in"],
            "late_rows": extracted[table]["rows_late"],  # of `extracted`: committed late into earlier intervals
            "late_rows_by_day": extracted[table]["late_by_day"],
            "extract_seconds": extracted[table].get("seconds"),  # the operator's own time (no Airflow start-up)
            "curated": report["rows_valid"],
            "quarantined": report["rows_quarantined"],
            "quarantined_by_reason": report["quarantined_by_reason"],
            "loaded": loaded[table],
            "warehouse_table": target,
            "warehouse_rows_after_run": warehouse[table],
            "source_rows": source[table]["rows"],
            "source_distinct_keys": source[table]["distinct_keys"],
        }
    return {"interval": day.isoformat(), "tables": tables}
