"""Issue 17: the streaming curation and quality gate change HOW the pipeline computes, never WHAT it produces.

A fixed seed (2 intervals; every kind of dirt from mwaa_local/seed/dirt.py on the second) runs through retail_etl,
and what the run leaves is compared with tests/e2e/fixtures/etl_checksums.json, recorded from main BEFORE the
streaming change (pandas curation, GE on a whole DataFrame): the warehouse tables' checksums after each interval,
the curate reports (counts by reject reason, extra columns), and order-independent checksums of the curated and
quarantine Parquet (values, column names and Arrow types).

Its own source database and Airflow home on the session's local cloud (days in July, shared with no other
module); the lake and the warehouse are emptied before and after, as test_late_rows.py does.
Re-record only for an intended change of results: MWAA_LOCAL_RECORD_ETL_CHECKSUMS=1 ./mwaa-local test <this file>.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from mwaa_local import postgres
from mwaa_local.local_stack import LocalStack
from mwaa_local.seed import dirt, load, schema
from mwaa_local.seed.generate import Plan
from tests.e2e import reconcile
from tests.e2e.conftest import ETLHarness, _reset_shared_cloud

pytestmark = pytest.mark.e2e

PLAN = Plan(orders=1_500, start=dt.date(2026, 7, 1), days=2, seed=57)
FIXTURE = Path(__file__).parent / "fixtures" / "etl_checksums.json"
RECORD_ENV = "MWAA_LOCAL_RECORD_ETL_CHECKSUMS"


@pytest.fixture(scope="module")
def stable(local_cloud, e2e_postgres, tmp_path_factory):
    source_dsn = postgres.create_database("retail_checksums", e2e_postgres)
    manifest = load.seed(source_dsn, PLAN)
    stack = LocalStack.up(local_cloud.endpoint_url, source_dsn, tmp_path_factory.mktemp("airflow-home-checksums"))
    harness = ETLHarness(stack, PLAN, manifest)
    _reset_shared_cloud(stack)
    yield harness
    _reset_shared_cloud(stack)
    print(f"\nchecksum DAG runs: {harness.runs}")


def _parquet_checksum(harness: ETLHarness, prefix: str) -> dict:
    """Row count, schema and an order-independent checksum of every Parquet object under `prefix`."""
    import pyarrow.parquet as pq

    listed = harness.s3.list_objects_v2(Bucket=harness.bucket, Prefix=prefix).get("Contents", [])
    tables = [pq.read_table(io.BytesIO(harness.s3.get_object(Bucket=harness.bucket, Key=o["Key"])["Body"].read()))
              for o in listed if o["Key"].endswith(".parquet")]
    if not tables:
        return {"objects": 0}
    rows = [tuple(sorted(r.items())) for t in tables for r in t.to_pylist()]
    schemas = sorted({", ".join(f"{f.name}: {f.type}" for f in t.schema) for t in tables})
    return {"objects": len(tables), "schema": schemas, "rows": reconcile.checksum(rows)}


def _curate_report(harness: ETLHarness, table: str, day: dt.date) -> dict:
    key = f"reports/curate/{table}/dt={day.isoformat()}/counts.json"
    report = json.loads(harness.s3.get_object(Bucket=harness.bucket, Key=key)["Body"].read())
    return {k: report[k] for k in ("rows_in", "rows_valid", "rows_quarantined", "quarantined_by_reason",
                                   "extra_columns", "invariant_holds")}


def _snapshot(harness: ETLHarness, day: dt.date) -> dict:
    snap = {"warehouse": harness.warehouse.table_checksums(reconcile.TABLES)}
    for table in schema.TABLES:
        snap[table] = {
            "curate_report": _curate_report(harness, table, day),
            "curated": _parquet_checksum(harness, f"curated/{table}/dt={day.isoformat()}/"),
            "quarantine": _parquet_checksum(harness, f"quarantine/{table}/dt={day.isoformat()}/"),
        }
    return snap


def _digest(snapshot: dict) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest()[:16]


OBSERVED: dict[str, dict] = {}  # interval -> snapshot, filled by the tests in order


def _run_and_compare(harness: ETLHarness, n: int) -> None:
    day = harness.day(n)
    if n == 1:
        entries = dirt.apply(harness.dsn, harness.plan, "all", n)
        assert dirt.expected_quarantine(entries), "the dirt injected nothing: the comparison would prove less"
    result = harness.run(day)
    assert result.ok, f"run {result.state}; tasks {result.tasks}\nlog tail:\n{harness.log_tail(result)}"
    got = OBSERVED[day.isoformat()] = _snapshot(harness, day)
    if os.environ.get(RECORD_ENV) == "1":
        if len(OBSERVED) == PLAN.days:
            FIXTURE.parent.mkdir(exist_ok=True)
            FIXTURE.write_text(json.dumps({"plan": repr(PLAN), "dirt": "all on interval 1", "intervals": OBSERVED},
                                          indent=2, sort_keys=True) + "\n")
        pytest.fail(f"recording {FIXTURE} ({RECORD_ENV}=1); run again without it to compare")
    assert FIXTURE.exists(), f"no recorded checksums at {FIXTURE}: record them from main with {RECORD_ENV}=1"
    recorded = json.loads(FIXTURE.read_text())
    assert recorded["plan"] == repr(PLAN), "the plan changed since the checksums were recorded: re-record from main"
    expected = recorded["intervals"][day.isoformat()]
    assert got["warehouse"] == expected["warehouse"], (
        f"{day}: warehouse differs from the recording:\n{reconcile.checksum_diff(expected['warehouse'], got['warehouse'])}")
    for table in schema.TABLES:
        for part in ("curate_report", "curated", "quarantine"):
            assert got[table][part] == expected[table][part], (
                f"{day} {table} {part}: recorded {expected[table][part]}, got {got[table][part]}")
    assert _digest(got) == _digest(expected)


def test_a_clean_interval_gives_the_recorded_warehouse_and_lake(stable):
    _run_and_compare(stable, 0)


def test_a_dirty_interval_gives_the_recorded_warehouse_quarantine_and_reports(stable):
    assert stable.day(0).isoformat() in OBSERVED, "the clean interval's test must run first (run the whole module)"
    _run_and_compare(stable, 1)
    day = stable.day(1).isoformat()
    # a dirty interval that quarantined nothing would make the quarantine comparison empty
    assert sum(OBSERVED[day][t]["curate_report"]["rows_quarantined"] for t in schema.TABLES)
