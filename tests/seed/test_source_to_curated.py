"""Seeded dirty source -> our IncrementalExtractOperator -> the Glue script -> S3 outputs.
Asserts the curation quarantines exactly the rows the generator's manifest says it dirtied, with its reason."""

import datetime as dt
import io
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from mwaa_local import paths
from mwaa_local.seed import dirt, load
from mwaa_local.seed.generate import Plan

BUCKET = "retail-lake-seedtest"
PLAN = Plan(orders=1_500, start=dt.date(2024, 6, 1), days=2, seed=11)
DAY = "2024-06-02"


def _extract(dsn, table, day):
    from mwaa_platform.operators.extract import IncrementalExtractOperator

    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    IncrementalExtractOperator(task_id=f"extract_{table}", table=table, s3_bucket=BUCKET, aws_conn_id=None,
                               data_interval_start=str(start), data_interval_end=str(start + dt.timedelta(days=1)),
                               lookback_hours=0).execute({})


def _run_job(day):
    env = {**os.environ, "PYTHONPATH": str(paths.INCLUDE / "glue")}
    return subprocess.run([sys.executable, str(paths.INCLUDE / "glue" / "curate_retail.py"), "--data_bucket", BUCKET,
                           "--tables", ",".join(load.schema.TABLES), "--dt", day],
                          env=env, capture_output=True, text=True, timeout=300)


def _parquet(s3, key):
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))


@pytest.fixture(scope="module")
def dirty_run(pg_server, local_cloud, tmp_path_factory):
    import boto3

    from mwaa_local import postgres

    dsn = postgres.create_database("to_curated", pg_server[1])
    manifest = load.seed(dsn, PLAN, dirt=["all"], dirt_day=1, dirt_rows=3)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    os.environ["AIRFLOW_CONN_RETAIL_SOURCE_DB"] = dsn.replace("postgresql://", "postgres://")
    for table in load.schema.TABLES:
        _extract(dsn, table, DAY)
    done = _run_job(DAY)
    assert done.returncode == 0, done.stderr
    return s3, manifest, done


def test_quarantine_is_exactly_the_injected_dirt(dirty_run):
    s3, manifest, _ = dirty_run
    expected = dirt.expected_quarantine(manifest["dirt"])
    found = {}
    for table in load.schema.TABLES:
        report = json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/curate/{table}/dt={DAY}/counts.json")["Body"].read())
        assert report["invariant_holds"] and report["rows_in"] == report["rows_valid"] + report["rows_quarantined"]
        found.update({(table, reason): n for reason, n in report["quarantined_by_reason"].items()})
        quarantine = _parquet(s3, f"quarantine/{table}/dt={DAY}/part-00000.parquet").to_pylist()
        key = load.schema.KEYS[table]
        for entry in (e for e in manifest["dirt"] if e["table"] == table and e["reason"] and e["keys"]):
            got = sorted(int(r[key]) for r in quarantine if r["reject_reason"] == entry["reason"] and r[key] is not None)
            assert set(entry["keys"]) <= set(got), (table, entry["reason"])
    assert found == expected


def test_valid_rows_are_typed_deduplicated_and_drift_is_reported(dirty_run):
    s3, manifest, done = dirty_run
    items = _parquet(s3, f"curated/order_items/dt={DAY}/part-00000.parquet")
    assert str(items.schema.field("amount").type) == "decimal128(14, 2)"
    keys = items.column("order_item_id").to_pylist()
    assert len(keys) == len(set(keys)) and None not in keys
    assert min(items.column("quantity").to_pylist()) > 0
    orders_report = json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/curate/orders/dt={DAY}/counts.json")["Body"].read())
    assert orders_report["extra_columns"] == ["coupon_code"]
    late = next(e for e in manifest["dirt"] if e["kind"] == "late_updates")["keys"]
    orders = _parquet(s3, f"curated/orders/dt={DAY}/part-00000.parquet").to_pandas().set_index("order_id")
    assert (orders.loc[late, "status"] == "refunded").all()  # late updates are valid and move forward
    assert '"rows_quarantined"' in done.stdout


def test_rerun_replaces_the_interval_and_changes_nothing(dirty_run):
    s3, _, _ = dirty_run
    s3.put_object(Bucket=BUCKET, Key=f"curated/orders/dt={DAY}/part-99999.parquet", Body=b"stale from an old run")
    before = {k["Key"]: k["ETag"] for k in s3.list_objects_v2(Bucket=BUCKET, Prefix="curated/")["Contents"]}
    assert _run_job(DAY).returncode == 0
    after = {k["Key"]: k["ETag"] for k in s3.list_objects_v2(Bucket=BUCKET, Prefix="curated/")["Contents"]}
    before.pop(f"curated/orders/dt={DAY}/part-99999.parquet")
    assert after == before


def test_missing_raw_interval_fails_clearly_and_writes_nothing(dirty_run):
    s3, _, _ = dirty_run
    done = _run_job("2024-06-09")
    assert done.returncode != 0
    assert "no raw Parquet under s3://retail-lake-seedtest/raw/customers/dt=2024-06-09/" in done.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="curated/customers/dt=2024-06-09/")
