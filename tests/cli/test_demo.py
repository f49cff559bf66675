"""The README's demo as a user runs it, from a clean environment: `./mwaa-local demo ... --summary-json X`, then
the README's "where to look" commands (`sql`, `aws`), a run made to fail (non-zero exit, the failure in the JSON),
and `./mwaa-local stop` ending every process the demo left running (checked by pid).

One demo run serves most assertions (it is slow); the tests of this module run in file order on its stack."""

from __future__ import annotations

import json
import shutil

import psutil
import pytest

from mwaa_local import pid_records
from mwaa_local.cloud import faults, process
from tests.cli.conftest import Cli, end_recorded, make_state_dir

pytestmark = pytest.mark.e2e

ORDERS, DAY = 40, "2026-01-01"  # the smallest demo: 40 orders, one interval (the demo's first day)
TABLES = ("customers", "products", "orders", "order_items")
MERGE_ORDERS = "MERGE INTO analytics.fact_orders"


class Demo:
    def __init__(self, cli: Cli, port: int):
        self.cli, self.port = cli, port
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self.first_run = None
        self.summary: dict = {}

    def demo(self, summary_name: str, *extra: str):
        summary = self.cli.state / summary_name
        done = self.cli.run("demo", "--port", str(self.port), "--orders", str(ORDERS), "--days", "1", *extra,
                            "--summary-json", str(summary))
        return done, (json.loads(summary.read_text()) if summary.exists() else None)

    def records(self) -> dict[str, pid_records.PidRecord]:
        records = {}
        for path in (self.cli.state / "run").glob("*.json"):
            record = pid_records.PidRecord(**json.loads(path.read_text()))
            records[record.service] = record
        return records

    def source_rows(self) -> dict[str, int]:
        """Counted straight from the seeded PostgreSQL, not from the demo's report."""
        import psycopg2

        conn = psycopg2.connect(f"postgresql://postgres@127.0.0.1:{self.cli.postgres_port}/retail")
        try:
            with conn.cursor() as cur:
                counts = {}
                for table in TABLES:
                    cur.execute(f"SELECT COUNT(*) FROM retail.{table}")
                    counts[table] = cur.fetchone()[0]
                return counts
        finally:
            conn.close()


@pytest.fixture(scope="module")
def demo():
    cli = Cli(make_state_dir("mwaa-cli-demo-"), process.free_port())
    stack = Demo(cli, process.free_port())
    stack.first_run, stack.summary = stack.demo("summary.json", "--clean")
    yield stack
    # Whatever the tests did: end what the demo started, then make sure by pid.
    cli.run("stop", timeout=300)
    end_recorded(cli.state)
    shutil.rmtree(cli.state, ignore_errors=True)


def test_the_demo_succeeds_and_its_summary_json_matches_the_source(demo):
    done = demo.first_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    summary = demo.summary
    assert (summary["self_check"], summary["failed_intervals"]) == ("success", [])
    assert [i["interval"] for i in summary["intervals"]] == [DAY]
    tables = summary["intervals"][0]["tables"]
    source = demo.source_rows()
    assert source["orders"] == ORDERS
    for table in TABLES:  # a clean run: every source row extracted, curated, loaded; nothing quarantined
        t = tables[table]
        moved = (t["extracted"], t["curated"], t["quarantined"], t["loaded"])
        assert moved == (source[table], source[table], 0, source[table]), (table, t, source[table])
        assert t["quarantined_by_reason"] == {}
        assert (t["warehouse_rows_after_run"], t["source_rows"], t["source_distinct_keys"]) == (source[table],) * 3


def test_sql_prints_the_warehouse_count(demo):
    done = demo.cli.run("sql", "--port", str(demo.port), "SELECT COUNT(*) AS n FROM analytics.fact_orders",
                        timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.strip() for line in lines] == ["n", "int8", "----", str(ORDERS), "(1 row)"], done.stdout


def test_sql_runs_a_file_and_shows_how_many_rows_it_left_out(demo, tmp_path):
    script = tmp_path / "orders.sql"
    script.write_text("-- the three first orders\nSELECT order_id FROM analytics.fact_orders\nORDER BY order_id LIMIT 3;\n")
    done = demo.cli.run("sql", "--port", str(demo.port), "-f", str(script), "--max-rows", "2", timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.strip() for line in lines[:3]] == ["order_id", "int8", "--------"], done.stdout
    assert len(lines) == 6 and lines[-1] == "(3 rows, the first 2 shown; --max-rows N shows more)", done.stdout
    ids = [int(line) for line in lines[3:5]]
    assert ids == sorted(ids) and len(set(ids)) == 2


def test_sql_reports_a_failed_statement_in_one_line(demo):
    done = demo.cli.run("sql", "--port", str(demo.port), "SELECT * FROM analytics.no_such_table", timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("error: FAILED: ") and "no_such_table" in done.stderr, done.stderr


def test_aws_lists_the_raw_extract_in_the_lake(demo):
    done = demo.cli.run("aws", "--port", str(demo.port), "s3", "list-objects-v2", "--bucket", "retail-data-lake",
                        "--prefix", f"raw/orders/dt={DAY}/", timeout=300)
    assert done.returncode == 0, done.stderr
    keys = [obj["Key"] for obj in json.loads(done.stdout)["Contents"]]
    assert keys and all(k.startswith(f"raw/orders/dt={DAY}/") and k.endswith(".parquet") for k in keys), keys


def test_a_failed_run_exits_non_zero_and_a_new_demo_empties_the_catalog_it_owns(demo):
    # Leftovers of an earlier run: a partition of another day in the crawled orders table.
    left_over = demo.cli.run("aws", "--port", str(demo.port), "glue", "create-partition",
                             "--database-name", "retail_raw", "--table-name", "orders", "--partition-input",
                             json.dumps({"Values": ["2025-12-31"], "StorageDescriptor": {
                                 "Location": "s3://retail-data-lake/raw/orders/dt=2025-12-31/"}}), timeout=300)
    assert left_over.returncode == 0, left_over.stderr
    # Every try of the warehouse load fails (1 + the DAG's 2 retries), so the interval's run fails.
    faults.clear(demo.endpoint_url)
    faults.add(demo.endpoint_url, "redshift-data", MERGE_ORDERS, times=3, message="injected by test_demo")
    try:
        done, summary = demo.demo("failed.json", "--clean")
    finally:
        fired = [f["fired"] for f in faults.list_faults(demo.endpoint_url)]
        faults.clear(demo.endpoint_url)
    assert done.returncode == 1, done.stdout[-3000:]
    assert fired == [3], fired
    assert summary["failed_intervals"] == [DAY] and summary["intervals"] == []
    assert f"FAILED intervals: {DAY}" in done.stdout
    assert "removed 4 crawled table(s) from the Glue database retail_raw" in done.stdout, done.stdout
    partitions = demo.cli.run("aws", "--port", str(demo.port), "glue", "get-partitions",
                              "--database-name", "retail_raw", "--table-name", "orders", timeout=300)
    assert partitions.returncode == 0, partitions.stderr
    assert [p["Values"] for p in json.loads(partitions.stdout)["Partitions"]] == [[DAY]]


def test_stop_ends_every_process_the_demo_started(demo):
    records = demo.records()
    assert set(records) == {f"cloud-{demo.port}", "postgres"}, records
    family = []
    for record in records.values():
        proc = record.process()
        assert proc is not None, f"{record.service} (pid {record.pid}) is not running before stop"
        family += [proc, *proc.children(recursive=True)]
    done = demo.cli.run("stop", timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"local cloud: stopped cloud-{demo.port} (pid {records[f'cloud-{demo.port}'].pid}" in done.stdout
    assert "PostgreSQL: stopped" in done.stdout
    _, alive = psutil.wait_procs(family, timeout=120)
    assert alive == [], f"still running after stop: {alive}"
    assert demo.records() == {}
    assert process.health(demo.endpoint_url) is None
    again = demo.cli.run("stop", timeout=300)
    assert again.returncode == 0 and "none running" in again.stdout and "PostgreSQL: not running" in again.stdout
