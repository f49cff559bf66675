"""README claims about running the DAGs, proved through the local cloud on the e2e stack (tests/e2e/conftest.py):

- runs execute the DAG files, include/ and plugins.zip as synced to the MWAA bucket, not the working tree;
- the self-check DAG resolves connections AND variables through the Secrets Manager secrets backend, and fails
  naming what is missing;
- what `crawl_raw` catalogs after a retail_etl interval; the Glue and Redshift waits really defer;
- a successful run publishes the `retail_warehouse` asset, a run whose load fails does not;
- the retry-safe Glue operator under real Airflow: a retry of the same task instance waits on its own Glue run,
  another map index or another DAG run never takes over someone else's run.

These tests run retail_etl for interval 0 only (2 of the e2e budget's DAG runs), leave the warehouse as a run of
interval 0 leaves it and restore the MWAA bucket, so test_retail_etl.py's ordered tests may run before or after."""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from mwaa_local import dag_runner, paths, provision
from mwaa_local.cloud import faults
from mwaa_local.seed import schema

pytestmark = pytest.mark.e2e

PROBE_VARIABLE = "selfcheck_probe_window_days"
MISSING_VARIABLE = "selfcheck_never_stored"
CONFIG_KEY = "dags/include/config/platform.yaml"


@pytest.fixture
def mwaa_bucket(etl):
    """The MWAA bucket; whatever a test uploads to it is replaced by the working tree's deploy afterwards."""
    bucket = provision.local_settings()["mwaa_bucket"]
    yield bucket
    etl.stack.sync()


def _put(etl, bucket: str, key: str, body: str) -> None:
    etl.s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


# -- DAGs run from the bucket; the self-check through Secrets Manager ------------------------------------------------
def _require_variables(etl, bucket: str, names: list[str]) -> None:
    """Deploys a platform.yaml whose `local` environment requires these variables (a config change on MWAA)."""
    text = (paths.INCLUDE / "config" / "platform.yaml").read_text()
    local = text.index("  local:")
    line = text.index("    required_variables: []", local)
    assert line < text.index("  production:"), "platform.yaml layout changed: update this test"
    changed = text[:line] + f"    required_variables: {json.dumps(names)}" + text[line + len("    required_variables: []"):]
    _put(etl, bucket, CONFIG_KEY, changed)


def test_self_check_runs_as_deployed_and_resolves_variables_through_secrets_manager(etl, mwaa_bucket):
    """One self-check run proves both claims: the DAG file and include/config that ran are the bucket's copies
    (a marker and a required variable exist only there), and the variable resolved from Secrets Manager."""
    marker = "MARKER-only-in-the-bucket-copy"
    deployed = etl.s3.get_object(Bucket=mwaa_bucket, Key="dags/platform_self_check.py")["Body"].read().decode()
    assert deployed == (paths.DAGS / "platform_self_check.py").read_text(), "the stack did not deploy the tree"
    changed = deployed.replace("        return check_environment()",
                               f"        print({marker!r})\n        return check_environment()")
    assert changed != deployed and marker not in (paths.DAGS / "platform_self_check.py").read_text()
    _put(etl, mwaa_bucket, "dags/platform_self_check.py", changed)
    _require_variables(etl, mwaa_bucket, [PROBE_VARIABLE])
    secrets = etl.stack.client("secretsmanager")
    name = f"airflow/variables/{PROBE_VARIABLE}"
    secrets.create_secret(Name=name, SecretString="30")
    try:
        result = etl.stack.run_interval("platform_self_check", etl.day(0))
        log = result.log_file.read_text()
        assert result.ok and result.tasks == {"check_environment": "success"}, etl.log_tail(result)
        assert marker in log, "the run did not execute the bucket's copy of the DAG file"
        for line in (f"[ok] variable {PROBE_VARIABLE}: resolves", "[ok] connection retail_source_db: resolves (postgres)",
                     "[ok] connection aws_default: resolves (aws)", "[ok] AWS identity: arn:aws:"):
            assert line in log, f"{line!r} not in the self-check's log:\n{etl.log_tail(result)}"

        # negative control: the same check with one more variable that has no secret fails, naming only that one
        _require_variables(etl, mwaa_bucket, [PROBE_VARIABLE, MISSING_VARIABLE])
        failed = etl.stack.run_interval("platform_self_check", etl.day(0))
        log = failed.log_file.read_text()
        assert failed.state == "failed" and failed.tasks == {"check_environment": "failed"}, etl.log_tail(failed)
        assert "1 of 7 environment checks failed:" in log, etl.log_tail(failed)
        assert re.search(rf"  - variable {MISSING_VARIABLE}: \w+", log), etl.log_tail(failed)
        assert f"[ok] variable {PROBE_VARIABLE}: resolves" in log and f"  - variable {PROBE_VARIABLE}:" not in log
    finally:
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_the_runs_dags_folder_is_pulled_from_the_bucket_and_follows_each_deploy(etl, mwaa_bucket):
    _put(etl, mwaa_bucket, "dags/bucket_only.py", "# exists only in the bucket\n")
    env = etl.stack.env()
    folder = Path(env["AIRFLOW__CORE__DAGS_FOLDER"])
    assert folder != paths.DAGS and folder.is_relative_to(etl.stack.airflow_home)
    assert (folder / "bucket_only.py").read_text() == "# exists only in the bucket\n"
    assert Path(env["MWAA_INCLUDE_DIR"]) == folder / "include"
    assert (folder / "include" / "config" / "platform.yaml").is_file()
    plugins = Path(env["AIRFLOW__CORE__PLUGINS_FOLDER"])
    assert (plugins / "mwaa_platform" / "__init__.py").is_file() and str(plugins) in env["PYTHONPATH"].split(":")
    assert str(paths.PLUGINS) not in env["PYTHONPATH"].split(":"), "the working tree's plugins would shadow plugins.zip"

    synced = etl.stack.sync()  # a deploy of the working tree: the extra file leaves the bucket, then the folder
    assert synced.deleted == ["dags/bucket_only.py"]
    folder = Path(etl.stack.env()["AIRFLOW__CORE__DAGS_FOLDER"])
    assert not (folder / "bucket_only.py").exists()
    assert sorted(p.name for p in folder.glob("*.py")) == sorted(p.name for p in paths.DAGS.glob("*.py"))
    for dag_file in paths.DAGS.glob("*.py"):
        assert (folder / dag_file.name).read_text() == dag_file.read_text()


# -- one retail_etl interval: catalog, deferral, asset ---------------------------------------------------------------
def _asset_events(etl, run_id: str) -> list[dict]:
    with sqlite3.connect(etl.stack.airflow_home / "airflow.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT e.source_dag_id, e.source_task_id, e.source_run_id, a.name, a.uri "
                          "FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE e.source_run_id = ?",
                          (run_id,)).fetchall()
    return [dict(r) for r in rows]


def _task_log(log: str, task_id: str) -> str:
    """The lines dag.test logged while running one task (start to end)."""
    start = log.index(f"[DAG TEST] starting task_id={task_id} ")
    return log[start:log.index(f"[DAG TEST] end task task_id={task_id} ", start)]


# Source column type -> the Glue types the crawler may give its Parquet column (the extract widens integer to a
# 64-bit integer and brings numeric as exact decimal text today; a typed extract would give int / decimal).
_GLUE_TYPES = {"bigint": {"bigint"}, "integer": {"int", "bigint"}, "text": {"string"}, "timestamptz": {"timestamp"}}


def _acceptable(source_type: str) -> set[str]:
    if source_type.startswith("numeric("):
        return {"string", "decimal" + source_type.removeprefix("numeric")}
    return _GLUE_TYPES[source_type]


@pytest.fixture(scope="module")
def interval_run(etl, tmp_path_factory):
    """One successful retail_etl run of interval 0; its log is kept aside (a later run of the day overwrites it)."""
    result = etl.run(etl.day(0))
    kept = tmp_path_factory.mktemp("interval-run") / result.log_file.name
    shutil.copyfile(result.log_file, kept)
    return dataclasses.replace(result, log_file=kept)


def test_crawl_raw_catalogs_every_raw_table_with_its_columns_and_the_interval_partition(etl, interval_run):
    assert interval_run.ok, etl.log_tail(interval_run)
    config = provision.local_settings()
    glue, day = etl.stack.client("glue"), etl.day(0).isoformat()
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=config["glue"]["raw_database"])["TableList"]}
    assert set(tables) == set(schema.TABLES), sorted(tables)
    for name, table in tables.items():
        location = f"s3://{etl.bucket}/raw/{name}/"
        assert table["StorageDescriptor"]["Location"] == location
        assert table["Parameters"]["classification"] == "parquet"
        assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
        partitions = glue.get_partitions(DatabaseName=config["glue"]["raw_database"], TableName=name)["Partitions"]
        in_s3 = {o["Key"].split("/")[2].removeprefix("dt=") for o in etl.s3.list_objects_v2(
            Bucket=etl.bucket, Prefix=f"raw/{name}/").get("Contents", [])}
        assert day in in_s3
        assert {p["Values"][0] for p in partitions} == in_s3, f"{name}: catalog partitions != dt= folders in S3"
        ours = next(p for p in partitions if p["Values"] == [day])
        assert ours["StorageDescriptor"]["Location"] == f"{location}dt={day}/"
        columns = [(c["Name"], c["Type"]) for c in ours["StorageDescriptor"]["Columns"]]
        assert [c for c, _ in columns] == schema.columns(name), f"{name}: partition columns {columns}"
        for (column, glue_type), (_, source_type) in zip(columns, schema.TABLES[name], strict=True):
            assert glue_type in _acceptable(source_type), f"{name}.{column}: {source_type} catalogued as {glue_type}"
        table_columns = dict((c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"])
        assert {c: table_columns.get(c) for c, _ in columns} == dict(columns), f"{name}: table lacks partition columns"
    assert glue.get_crawler(Name="retail_raw")["Crawler"]["LastCrawl"]["Status"] == "SUCCEEDED"


@pytest.mark.parametrize("task_id", ["crawl_raw", "curate", "load_warehouse"])
def test_glue_and_redshift_waits_really_defer(etl, interval_run, task_id):
    """dag.test() runs a deferred task's trigger in line: the task ran, the API server recorded it DEFERRED, its
    trigger ran to an event, and the task resumed (ran a second time in the same try)."""
    assert interval_run.ok, etl.log_tail(interval_run)
    task = _task_log(interval_run.log_file.read_text(), task_id)
    events = re.findall(r"\[DAG TEST\] (running task|running trigger in line|Trigger completed)|new_state=(deferred)", task)
    order = [a or b for a, b in events]
    assert order == ["running task", "deferred", "running trigger in line", "Trigger completed", "running task"], (
        f"{task_id} did not go through a deferral: {order}")


def test_a_successful_run_publishes_the_retail_warehouse_asset(etl, interval_run):
    assert interval_run.ok and interval_run.run_id, etl.log_tail(interval_run)
    events = _asset_events(etl, interval_run.run_id)
    redshift = provision.local_settings()["redshift"]
    # Airflow normalises the asset's redshift:// URI with the default port
    uri = f"redshift://{redshift['workgroup']}:5439/{redshift['database']}/analytics/fact_order_items"
    assert events == [{"source_dag_id": "retail_etl", "source_task_id": "load_warehouse",
                       "source_run_id": interval_run.run_id, "name": "retail_warehouse", "uri": uri}]


def test_a_run_whose_load_fails_publishes_no_asset(etl, interval_run):
    """Every try of the load fails (a fault on its MERGE, one per try): the run fails and no asset event exists."""
    assert interval_run.ok, etl.log_tail(interval_run)
    faults.clear(etl.endpoint_url)
    fault = faults.add(etl.endpoint_url, "redshift-data", "MERGE INTO analytics.fact_orders", times=3,
                       message="warehouse unavailable for the asset test")
    try:
        result = etl.run(etl.day(0))
    finally:
        listed = {f["id"]: f for f in faults.list_faults(etl.endpoint_url)}
        faults.clear(etl.endpoint_url)
    assert result.state == "failed" and result.tasks["load_warehouse"] == "failed", result.tasks
    assert listed[fault["id"]]["fired"] == 3, "the load was not tried three times (retries=2)"
    assert result.run_id and result.run_id != interval_run.run_id
    assert _asset_events(etl, result.run_id) == [], "a failed load published the asset"
    assert len(_asset_events(etl, interval_run.run_id)) == 1


# -- Glue run reuse under real Airflow -------------------------------------------------------------------------------
_PROBE_DAG = '''\
from datetime import timedelta

import pendulum
from airflow.sdk import dag

from mwaa_platform.operators.glue import GlueJobOperator


class LosesItsWorkerAfterStarting(GlueJobOperator):
    """Try 1 of map index 0 dies right after its Glue run started, as if its worker was lost."""

    def execute(self, context):
        glue_run = super().execute(context)
        ti = context["ti"]
        print("@@GLUE@@ " + " ".join(map(str, (ti.run_id, ti.map_index, ti.try_number, glue_run))), flush=True)
        if ti.map_index == 0 and ti.try_number == 1:
            raise RuntimeError("worker lost after the Glue run started")
        return glue_run


@dag(dag_id="glue_reuse_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def glue_reuse_probe():
    LosesItsWorkerAfterStarting.partial(
        task_id="glue", job_name=JOB, script_location=SCRIPT, s3_bucket=BUCKET, replace_script_file=True,
        iam_role_arn="arn:aws:iam::123456789012:role/glue", wait_for_completion=False,
        retries=1, retry_delay=timedelta(seconds=0),
        create_job_kwargs={"Command": {"Name": "pythonshell"}, "ExecutionProperty": {"MaxConcurrentRuns": 10}},
    ).expand(script_args=[{"--seconds": "600", "--pid_file": PID + "0"}, {"--seconds": "600", "--pid_file": PID + "1"}])


glue_reuse_probe()
'''


def test_glue_retry_reuses_its_own_run_but_never_another_map_index_or_dag_run(etl, tmp_path):
    import uuid

    job, bucket = f"reuse-probe-{uuid.uuid4().hex[:8]}", "glue-reuse-probe"
    etl.s3.create_bucket(Bucket=bucket)
    folder = tmp_path / "dags"
    folder.mkdir()
    script = paths.TESTS / "cloud" / "glue" / "scripts" / "sleeps.py"
    (folder / "glue_reuse_probe.py").write_text(
        f"JOB, SCRIPT, BUCKET, PID = {job!r}, {str(script)!r}, {bucket!r}, {str(tmp_path / 'pid')!r}\n" + _PROBE_DAG)
    env = {**etl.stack.env(), "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    glue = etl.stack.client("glue")
    try:
        results = [dag_runner.run_dag("glue_reuse_probe", env, f"2026-02-0{n}T00:00:00+00:00",
                                      log_file=tmp_path / f"run{n}.log") for n in (1, 2)]
        for result in results:
            assert result.ok, result.log_file.read_text()[-4000:]
        started = collections.defaultdict(list)  # (dag run, map index) -> Glue run per try
        for result in results:
            for line in result.log_file.read_text().splitlines():
                if "@@GLUE@@ " in line and "print(" not in line:
                    run_id, map_index, try_number, glue_run = line.split("@@GLUE@@ ", 1)[1].split()[:4]
                    started[(run_id, int(map_index))].append((int(try_number), glue_run))
        assert len(started) == 4, dict(started)
        (run1, run2) = sorted({run_id for run_id, _ in started})
        assert [t for t, _ in started[(run1, 0)]] == [1, 2], "map index 0 was not retried once"
        assert started[(run1, 0)][0][1] == started[(run1, 0)][1][1], "the retry did not wait on its own running run"
        owners = {key: tries[-1][1] for key, tries in started.items()}
        assert len(set(owners.values())) == 4, f"task instances shared a Glue run: {owners}"

        runs = glue.get_job_runs(JobName=job)["JobRuns"]
        tags = collections.Counter(r["Arguments"]["--airflow_task_uuid"] for r in runs)
        assert tags == {f"glue_reuse_probe:glue:{run_id}:{i}": 1 for run_id in (run1, run2) for i in (0, 1)}, tags
        assert {r["Id"] for r in runs} == set(owners.values())
    finally:
        active = [r["Id"] for r in glue.get_job_runs(JobName=job).get("JobRuns", [])
                  if r["JobRunState"] in ("STARTING", "RUNNING")] if _job_exists(glue, job) else []
        if active:
            glue.batch_stop_job_run(JobName=job, JobRunIds=active)


def _job_exists(glue, job: str) -> bool:
    try:
        glue.get_job(JobName=job)
        return True
    except glue.exceptions.EntityNotFoundException:
        return False
