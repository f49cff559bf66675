"""The README's demo as a user runs it, from a clean environment: `./mwaa-local demo ... --summary-json X` (the
local MWAA environment started as `up --detach`, every DAG run triggered through the REST API and run by the
scheduler), then the README's "where to look" commands (`sql`, `aws`), a second demo on the running environment
with a run made to fail (non-zero exit, the failure in the JSON), and `./mwaa-local stop` ending every process the
demo left running (checked by pid).

One demo run serves most assertions (it is slow); the tests of this module run in file order on its stack."""

from __future__ import annotations

import json
import shutil

import psutil
import pytest

from mwaa_local import pid_records, provision
from mwaa_local.cloud import faults, process
from mwaa_local.demo import follow_ups, history
from mwaa_local.runtime import components
from tests.cli.conftest import Cli, assert_one_line_error, end_recorded, make_state_dir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]  # two demos on shared, loaded cores

# A small demo: the history ml_train needs for its label window, then one daily interval (the demo's first day).
# 1,200 orders give ml_train a validation split above min_validation_rows with both label classes.
ORDERS, DAY = 1_200, "2026-01-01"
HISTORY = history.history_interval(provision.local_settings()["ml"]["label_days"]).start.isoformat()
TABLES = ("customers", "products", "orders", "order_items")


def seeded_orders() -> int:
    """ORDERS over the demo's days plus the imported order history that carries ml_train's signal (the generator's
    `history_days`), counted by the generator itself."""
    from mwaa_local.seed import generate

    plan = history.seed_plan(ORDERS, 1, provision.local_settings()["ml"]["label_days"])
    imported = generate.history_orders(plan, generate.OrderIds(), generate.product_prices_cents(plan))
    return ORDERS + sum(order_chunk.num_rows for order_chunk, _items in imported)


MERGE_ORDERS = "MERGE INTO analytics.fact_orders"


class Demo:
    def __init__(self, cli: Cli, port: int):
        self.cli, self.port = cli, port
        self.api_port, self.mlflow_port = process.free_port(), process.free_port()
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self.first_run = None
        self.summary: dict = {}

    def demo(self, summary_name: str, *extra: str):
        summary = self.cli.state / summary_name
        done = self.cli.run("demo", "--port", str(self.port), "--api-port", str(self.api_port), "--mlflow-port",
                            str(self.mlflow_port), "--orders", str(ORDERS), "--days", "1", *extra,
                            "--summary-json", str(summary), timeout=2400)  # a generous deadline: shared cores
        return done, (json.loads(summary.read_text()) if summary.exists() else None)

    def records(self) -> dict[str, pid_records.PidRecord]:
        records = {}
        for path in (self.cli.state / "run").glob("*.json"):
            record = pid_records.PidRecord(**json.loads(path.read_text()))
            records[record.service] = record
        return records

    def api(self):
        """A logged-in client of the demo's Airflow (the admin password `up` generated into the state dir)."""
        from mwaa_local.runtime import credentials
        from mwaa_local.runtime.api_client import ApiClient

        login = credentials.read_login(self.cli.state / "mwaa" / "passwords.json")
        return ApiClient.login(f"http://127.0.0.1:{self.api_port}", login.user, login.password)

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


def test_a_step_that_fails_is_named_and_leaves_nothing_running(cli, tmp_path):
    import socket

    with socket.socket() as taken:  # the UI port is taken: `up` refuses before it starts anything
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        summary = tmp_path / "summary.json"
        done = cli.run("demo", "--port", str(process.free_port()), "--api-port", str(port), "--mlflow-port",
                       str(process.free_port()), "--orders", "10", "--days", "1", "--summary-json", str(summary),
                       timeout=600)
    assert_one_line_error(done, 1, "the demo failed at step 'up'", f"port {port} on 127.0.0.1 is taken")
    assert json.loads(summary.read_text())["failed_step"] == "up"
    running = [p for p in (cli.state / "run").glob("*.json")]
    assert running == [], [p.read_text() for p in running]


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
    assert summary["history"]["interval"] == HISTORY
    assert [i["interval"] for i in summary["intervals"]] == [DAY]
    source = demo.source_rows()
    assert source["orders"] == seeded_orders() > ORDERS
    for table in TABLES:  # a clean run: every source row extracted, curated, loaded once; nothing quarantined
        runs = [summary["history"]["tables"][table], summary["intervals"][0]["tables"][table]]
        for t in runs:
            assert (t["curated"], t["quarantined"], t["loaded"]) == (t["extracted"], 0, t["extracted"]), (table, t)
            assert t["quarantined_by_reason"] == {} and t["late_rows"] == 0, (table, t)
        assert sum(t["extracted"] for t in runs) == source[table], (table, runs, source[table])
        last = runs[-1]
        assert (last["warehouse_rows_after_run"], last["source_rows"], last["source_distinct_keys"]) == \
            (source[table],) * 3


def test_every_run_went_through_the_scheduler_and_succeeded(demo):
    runs = demo.summary["runs"]
    assert [r["dag_id"] for r in runs] == ["platform_self_check", "retail_etl", "retail_etl", "ml_train", *[
        d for d in follow_ups.FOLLOW_UPS if follow_ups.present(d)]], runs
    assert all(r["state"] == "success" for r in runs), runs
    api = demo.api()  # the runs are in Airflow's metadata DB, triggered through the REST API, run by the scheduler
    for r in runs:
        stored = api.request("GET", f"/api/v2/dags/{r['dag_id']}/dagRuns/{r['run_id']}")
        assert (stored["state"], stored["run_type"]) == ("success", "manual"), stored
    etl = [api.request("GET", f"/api/v2/dags/retail_etl/dagRuns/{r['run_id']}")
           for r in runs if r["dag_id"] == "retail_etl"]
    assert [(e["data_interval_start"][:10], e["data_interval_end"][:10]) for e in etl] == \
        [(HISTORY, DAY), (DAY, "2026-01-02")]
    assert etl[1]["start_date"] >= etl[0]["end_date"], etl  # the intervals ran in order, one at a time


def test_the_ml_section_names_the_run_the_champion_and_why(demo):
    ml = demo.summary["ml"]
    assert ml["dag_run"]["state"] == "success", ml
    assert ml["source"] == "xcom"
    mlflow_url = f"http://127.0.0.1:{demo.mlflow_port}"
    assert ml["mlflow_url"] == mlflow_url and ml["run_url"].startswith(mlflow_url + "/#/experiments/"), ml
    assert ml["decision"] in ("champion", "challenger") and ml["reason"], ml
    assert int(ml["version"]) >= 1 and int(ml["champion_version"]) >= 1, ml
    assert 0.0 <= ml["champion_value"] <= 1.0 and 0.0 <= ml["candidate_value"] <= 1.0, ml
    # A fresh state dir has no champion yet, so this first version becomes it.
    assert (ml["version"], ml["champion_version"], ml["decision"], ml["champion_changed"]) == \
        ("1", "1", "champion", True), ml
    assert ml["reason"] == "no champion yet"
    out = demo.first_run.stdout
    assert f"MLflow run: {ml['run_url']}" in out
    assert f"champion: version 1, {ml['metric']} {ml['champion_value']:.4f} (promoted by this run)" in out, out
    for entry in demo.summary["follow_ups"]:  # the ML DAGs written elsewhere: run when present, else a note
        if follow_ups.present(entry["dag_id"]):
            assert entry["state"] == "success", entry
        else:
            assert entry["state"] == "skipped" and f"DAG {entry['dag_id']}: skipped" in out, entry
    assert [e["dag_id"] for e in demo.summary["follow_ups"]] == list(follow_ups.FOLLOW_UPS)
    assert f"Airflow UI   http://127.0.0.1:{demo.api_port}" in out and f"MLflow UI    {mlflow_url}" in out


def test_sql_prints_the_warehouse_count(demo):
    done = demo.cli.run("sql", "--port", str(demo.port), "SELECT COUNT(*) AS n FROM analytics.fact_orders",
                        timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.strip() for line in lines] == ["n", "int8", "----", str(seeded_orders()), "(1 row)"], done.stdout


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


def test_a_failed_run_exits_non_zero_and_a_new_demo_on_the_running_up_empties_the_catalog_it_owns(demo):
    # Leftovers of an earlier run: a partition of another day in the crawled orders table.
    left_over = demo.cli.run("aws", "--port", str(demo.port), "glue", "create-partition",
                             "--database-name", "retail_raw", "--table-name", "orders", "--partition-input",
                             json.dumps({"Values": ["2025-12-31"], "StorageDescriptor": {
                                 "Location": "s3://retail-data-lake/raw/orders/dt=2025-12-31/"}}), timeout=300)
    assert left_over.returncode == 0, left_over.stderr
    # Every try of the first warehouse load (the history's) fails (1 + the DAG's 2 retries), so that run fails;
    # the daily interval after it still runs, and training is skipped (the warehouse is incomplete).
    faults.clear(demo.endpoint_url)
    faults.add(demo.endpoint_url, "redshift-data", MERGE_ORDERS, times=3, message="injected by test_demo")
    try:
        done, summary = demo.demo("failed.json", "--clean")
    finally:
        fired = [f["fired"] for f in faults.list_faults(demo.endpoint_url)]
        faults.clear(demo.endpoint_url)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "Airflow already running" in done.stdout, done.stdout[:3000]
    assert fired == [3], fired
    assert summary["failed_intervals"] == [HISTORY] and summary["history"] is None
    assert [i["interval"] for i in summary["intervals"]] == [DAY]
    assert [(r["dag_id"], r["state"]) for r in summary["runs"]] == \
        [("platform_self_check", "success"), ("retail_etl", "failed"), ("retail_etl", "success")]
    assert summary["runs"][1]["failed_tasks"] == ["load_warehouse"], summary["runs"][1]
    assert summary["ml"] is None and "ML DAGs skipped" in done.stdout
    assert f"FAILED intervals: {HISTORY}" in done.stdout
    assert "removed 4 crawled table(s) from the Glue database retail_raw" in done.stdout, done.stdout
    partitions = demo.cli.run("aws", "--port", str(demo.port), "glue", "get-partitions",
                              "--database-name", "retail_raw", "--table-name", "orders", timeout=300)
    assert partitions.returncode == 0, partitions.stderr
    assert sorted(p["Values"] for p in json.loads(partitions.stdout)["Partitions"]) == [[HISTORY], [DAY]]


def test_stop_ends_every_process_the_demo_started(demo):
    records = demo.records()
    airflow = {components.SUPERVISOR, *(components.RECORD_PREFIX + name for name in components.COMPONENTS)}
    assert set(records) == {f"cloud-{demo.port}", "postgres", "mlflow", *airflow}, records
    family = []
    for record in records.values():
        proc = record.process()
        assert proc is not None, f"{record.service} (pid {record.pid}) is not running before stop"
        family += [proc, *proc.children(recursive=True)]
    done = demo.cli.run("stop", timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"local cloud: stopped cloud-{demo.port} (pid {records[f'cloud-{demo.port}'].pid}" in done.stdout
    assert "PostgreSQL: stopped" in done.stdout
    assert f"MLflow server: stopped (pid {records['mlflow'].pid}" in done.stdout
    assert f"{components.SUPERVISOR}: stopped (pid {records[components.SUPERVISOR].pid}" in done.stdout
    _, alive = psutil.wait_procs(family, timeout=120)
    assert alive == [], f"still running after stop: {alive}"
    assert demo.records() == {}
    assert process.health(demo.endpoint_url) is None
    again = demo.cli.run("stop", timeout=300)
    assert again.returncode == 0 and "none running" in again.stdout and "PostgreSQL: not running" in again.stdout
