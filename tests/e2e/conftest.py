"""One stack for the whole e2e package: the session's local cloud, one PostgreSQL server with one seeded retail
source, one Airflow metadata DB. DAG runs are expensive (~20 s each), so the tests of test_retail_etl.py run in
order on this shared state and each builds on the previous one (see ETLHarness.require): a test whose earlier
step was not selected establishes that step itself, and one whose earlier step FAILED fails too (never a skip).

Every test under tests/e2e must be marked e2e (unit tests belong in tests/unit); collection refuses otherwise."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mwaa_local import postgres, provision
from mwaa_local.cloud import faults
from mwaa_local.local_stack import LocalStack
from mwaa_local.seed import load, schema
from mwaa_local.seed.generate import Plan
from tests.e2e import reconcile

E2E_DIR = Path(__file__).parent
DAG_ID = "retail_etl"
# 4 daily intervals: 0 and 1 clean, 2 gets dirt, 3 gets a gate breach and then the injected fault.
PLAN = Plan(orders=2_400, start=dt.date(2026, 3, 1), days=4, seed=23)
MAX_DAG_RUNS = 10  # the e2e budget: each run takes ~20 s


def pytest_collection_modifyitems(config, items):
    """A test in tests/e2e without the e2e mark is a unit test in the wrong place: `-m "not e2e"` would run it
    against the shared stack, and `-m e2e` would miss it. Refuse the collection, naming it."""
    unmarked = [item.nodeid for item in items
                if E2E_DIR in Path(item.path).parents and item.get_closest_marker("e2e") is None]
    if unmarked:
        raise pytest.UsageError("tests in tests/e2e must be marked e2e (pytestmark = pytest.mark.e2e); unit tests "
                                "belong in tests/unit. Unmarked: " + ", ".join(unmarked))


def interval_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def e2e_postgres():
    """A PostgreSQL server for the e2e source. Not under pytest's tmp_path: as root the server runs as the
    `pgserver` user, and every pytest session resets /tmp/pytest-of-<user> to 0700, locking that user out."""
    folder = Path(tempfile.mkdtemp(prefix="mwaa-pg-e2e-"))
    data_dir = folder / "data"
    dsn = postgres.ensure_server(data_dir, port=0)
    yield dsn
    postgres.stop(data_dir)
    shutil.rmtree(folder, ignore_errors=True)


class ETLHarness:
    def __init__(self, stack: LocalStack, plan: Plan, manifest: dict):
        self.stack, self.plan, self.manifest = stack, plan, manifest
        config = provision.local_settings()
        self.bucket = config["data_lake_bucket"]
        self.s3 = stack.client("s3")
        self.redshift = stack.client("redshift-data")
        self.warehouse = reconcile.Warehouse(self.redshift, config["redshift"]["workgroup"],
                                             config["redshift"]["database"])
        self.dirt: list[dict] = []  # manifest entries of dirt applied so far
        self.runs: list[tuple[str, str, float]] = []
        self.passed: set[str] = set()
        self.attempted: set[str] = set()
        self.breach_order_id: int | None = None  # the order the gate-breach test inserts

    @property
    def dsn(self) -> str:
        return self.stack.source_dsn

    @property
    def endpoint_url(self) -> str:
        return self.stack.endpoint_url

    def day(self, n: int) -> dt.date:
        return self.plan.interval(n)

    # ---- ordering of the shared-state tests ---------------------------------------------------------------

    def require(self, step: str, establish: Callable[[ETLHarness], None] | None = None) -> None:
        """This test builds on the state an earlier step leaves. If that step's test ran and failed, fail loudly
        (the state is unknown). If it did not run (not selected), `establish` produces the state: the step's
        actions with only the checks that it happened, so any e2e test can run alone. Never a skip."""
        if step in self.passed:
            return
        if step in self.attempted:
            pytest.fail(f"the earlier e2e step {step!r} failed in this session, so the state this test builds on is "
                        "unknown: fix that failure first")
        if establish is None:
            pytest.fail(f"the earlier e2e step {step!r} has not run and this test cannot establish it; run the "
                        "whole module: ./mwaa-local test tests/e2e/test_retail_etl.py")
        print(f"establishing the earlier e2e step {step!r} (its test was not selected)")
        self.attempted.add(step)
        establish(self)
        self.passed.add(step)

    def begin(self, step: str) -> None:
        self.attempted.add(step)

    def done(self, step: str) -> None:
        self.passed.add(step)

    # ---- running the DAG ----------------------------------------------------------------------------------

    def run(self, day: dt.date):
        assert len(self.runs) < MAX_DAG_RUNS, f"e2e budget of {MAX_DAG_RUNS} DAG runs exceeded: {self.runs}"
        started = time.monotonic()
        result = self.stack.run_interval(DAG_ID, day)
        seconds = time.monotonic() - started
        self.runs.append((day.isoformat(), result.state, round(seconds, 1)))
        print(f"retail_etl {day}: {result.state} in {seconds:.0f} s; tasks {result.tasks}; log {result.log_file}")
        return result

    @staticmethod
    def log_tail(result, chars: int = 4000) -> str:
        return result.log_file.read_text()[-chars:]

    def tries(self, result, task_id: str) -> list[dict]:
        """Every try of a task in the DAG run `result`, oldest first, from the Airflow metadata DB: earlier tries
        from task_instance_history, the last from task_instance (try_number, state, start_date, end_date)."""
        marker = [line for line in result.log_file.read_text().splitlines() if line.startswith("@@RESULT@@")]
        assert marker, f"no result marker in {result.log_file}"
        run_id = json.loads(marker[-1].removeprefix("@@RESULT@@"))["run_id"]
        columns = "try_number, state, start_date, end_date"
        where = "dag_id = ? AND run_id = ? AND task_id = ? AND map_index = -1"
        with sqlite3.connect(self.stack.airflow_home / "airflow.db") as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for table in ("task_instance_history", "task_instance") for r in db.execute(
                f"SELECT {columns} FROM {table} WHERE {where}", (DAG_ID, run_id, task_id))]
        return sorted(rows, key=lambda r: r["try_number"])

    # ---- what the run wrote --------------------------------------------------------------------------------

    def parquet_rows(self, key_prefix: str):
        """All Parquet under an S3 prefix as one pyarrow table (None if there is none)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key_prefix).get("Contents", [])
        parts = [pq.read_table(io.BytesIO(self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()))
                 for o in listed if o["Key"].endswith(".parquet")]
        parts = [p.replace_schema_metadata(None) for p in parts]
        return pa.concat_tables(parts, promote_options="permissive") if parts else None

    def source_in_interval(self, day: dt.date) -> dict[str, int]:
        """Source rows whose updated_at falls in [day, day+1): what the extract must pick up."""
        import psycopg2

        start = interval_end(day) - dt.timedelta(days=1)
        counts = {}
        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            for table in schema.TABLES:
                cur.execute(f"SELECT count(*) FROM {schema.SCHEMA}.{table} WHERE updated_at >= %s AND updated_at < %s",
                            (start, interval_end(day)))
                counts[table] = cur.fetchone()[0]
        conn.close()
        return counts

    def source_sql(self, sql: str, params=None) -> list[tuple]:
        import psycopg2

        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        conn.close()
        return rows

    def quarantined_keys(self) -> dict[str, set]:
        """Per table, the keys of dirt rows that must never reach the warehouse (own key, bad row)."""
        keys: dict[str, set] = {t: set() for t in schema.TABLES}
        for entry in self.dirt:
            if entry["reason"] and entry["reason"] not in reconcile.DEDUPE_REASONS:
                keys[entry["table"]].update(entry["keys"])
        return keys

    def assert_warehouse_equals_source(self, day: dt.date) -> None:
        """Every warehouse table, row by row and column by column, against the source's latest state at the
        end of `day`'s interval (minus the rows the curation must quarantine)."""
        excluded = self.quarantined_keys()
        problems = []
        for table in reconcile.TABLES:
            expected = reconcile.source_latest(self.dsn, table, interval_end(day), excluded[table])
            actual_rows = self.warehouse.rows(table)
            actual = reconcile.by_key(table, actual_rows)
            assert len(actual) == len(actual_rows), f"{table}: duplicate keys in the warehouse"
            assert expected, f"{table}: the source has no rows before {interval_end(day)}: the test proves nothing"
            problems.append(reconcile.diff(table, expected, actual))
        problems = [p for p in problems if p]
        assert not problems, "warehouse != source's latest state after " + day.isoformat() + ":\n" + "\n".join(problems)


def _reset_shared_cloud(stack: LocalStack) -> None:
    """The session cloud may serve other tests: start from no warehouse, no lake objects, no crawled tables (their
    partitions would outlive the lake's folders and show up in the next crawl's catalog) and no faults."""
    stack.reset_pipeline_outputs()
    faults.clear(stack.endpoint_url)


@pytest.fixture(scope="session")
def etl(local_cloud, e2e_postgres, tmp_path_factory) -> ETLHarness:
    """The seeded (clean) source, the provisioned local account with the deployable tree synced, a fresh
    warehouse and lake."""
    source_dsn = postgres.create_database("retail_e2e", e2e_postgres)
    manifest = load.seed(source_dsn, PLAN)
    stack = LocalStack.up(local_cloud.endpoint_url, source_dsn, tmp_path_factory.mktemp("airflow-home"))
    harness = ETLHarness(stack, PLAN, manifest)
    _reset_shared_cloud(stack)
    yield harness
    faults.clear(stack.endpoint_url)
    print(f"\ne2e DAG runs: {harness.runs}")
