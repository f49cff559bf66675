"""Crash semantics: after `kill -9` of the local cloud and a restart on the same state dir, every statement and job
run that was in flight reads FAILED with an error saying the cloud restarted (never "not found"), and the processes
of the interrupted Glue run are gone."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from mwaa_local.cloud import jobs, process

SPAWNS_CHILDREN = Path(__file__).parent / "glue" / "scripts" / "spawns_children.py"
# 10^12 rows through a cross join: it runs until the cloud dies (DuckDB streams it; no memory grows).
TEN = "WITH ten AS (" + " UNION ALL ".join(f"SELECT {n} AS n" for n in range(10)) + ") "
ENDLESS = TEN + "SELECT count(*) FROM " + ", ".join(f"ten t{n}" for n in range(12))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _until(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} not reached within {timeout} s"
        time.sleep(0.05)
    return value


def _status(redshift, statement_id: str) -> str:
    return redshift.describe_statement(Id=statement_id)["Status"]


@pytest.mark.serial  # its orphans must live until reaped: a cloud another worker starts would reap them first
def test_in_flight_statements_and_job_runs_read_failed_after_kill_9(tmp_path):
    state = tmp_path / "state"
    cloud = process.start(state_dir=state)
    try:
        aws = process.clients(cloud.endpoint_url)
        redshift, glue, target = aws("redshift-data"), aws("glue"), {"Database": "dev", "WorkgroupName": "local-wg"}
        # The first statements of this state dir: no history snapshot exists before the crash.
        running = redshift.execute_statement(Sql=ENDLESS, **target)["Id"]
        _until(lambda: _status(redshift, running) == "STARTED", "the endless statement's start")
        queued = redshift.batch_execute_statement(Sqls=["SELECT 1", "SELECT 2"], **target)["Id"]  # waits for the lock

        aws("s3").create_bucket(Bucket="crash")
        aws("s3").put_object(Bucket="crash", Key="children.py", Body=SPAWNS_CHILDREN.read_bytes())
        glue.create_job(Name="crash-sleeper", Role="r",
                        Command={"Name": "pythonshell", "ScriptLocation": "s3://crash/children.py"})
        marker = tmp_path / "marker.json"
        run_id = glue.start_job_run(JobName="crash-sleeper", Arguments={
            "--marker": str(marker), "--wait": "1"})["JobRunId"]
        record = _until(lambda: marker.exists() and json.loads(marker.read_text()), "the job's marker")
        main, children = record["pids"][0], record["pids"][1:]
        assert glue.get_job_run(JobName="crash-sleeper", RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"
        assert _status(redshift, running) == "STARTED" and _status(redshift, queued) in ("SUBMITTED", "PICKED")
    finally:
        cloud.stop(signal.SIGKILL)

    _until(lambda: not _alive(main), "the job's main process dying with the cloud")  # PR_SET_PDEATHSIG
    assert all(_alive(pid) for pid in children)  # a kill -9 runs no handler: the restart must end these

    cloud = process.start(state_dir=state)
    try:
        aws = process.clients(cloud.endpoint_url)
        redshift, glue = aws("redshift-data"), aws("glue")
        message = jobs.restart_error("statement")
        for statement_id in (running, queued):
            described = redshift.describe_statement(Id=statement_id)
            assert (described["Status"], described["Error"]) == ("FAILED", message)
        assert message == "the local cloud restarted while this statement was running; re-run it"
        parts = redshift.describe_statement(Id=queued)["SubStatements"]
        assert [(p["Status"], p.get("Error")) for p in parts] == [("FAILED", message), ("ABORTED", None)]
        assert {s["Id"] for s in redshift.list_statements(Status="FAILED")["Statements"]} == {running, queued}
        assert list((state / "redshift" / "submitted").iterdir()) == []  # the records are in the history now

        run = glue.get_job_run(JobName="crash-sleeper", RunId=run_id)["JobRun"]
        assert (run["JobRunState"], run["ErrorMessage"]) == ("FAILED", jobs.restart_error("job run"))
        _until(lambda: not any(_alive(pid) for pid in record["pids"]), "the end of the job's processes")
        errors = aws("logs").get_log_events(logGroupName="/aws-glue/python-jobs/error", logStreamName=run_id)
        assert jobs.restart_error("job run") in [e["message"] for e in errors["events"]]

        # the verdict was saved when it was made: a second crash right after the restart finds it unchanged
        before = redshift.describe_statement(Id=running)["UpdatedAt"], run["CompletedOn"]
        cloud.stop(signal.SIGKILL)
        cloud = process.start(state_dir=state)
        aws = process.clients(cloud.endpoint_url)
        after = (aws("redshift-data").describe_statement(Id=running)["UpdatedAt"],
                 aws("glue").get_job_run(JobName="crash-sleeper", RunId=run_id)["JobRun"]["CompletedOn"])
        assert after == before
    finally:
        cloud.stop()


def test_a_stopped_cloud_ends_its_jobs_and_they_read_failed_after_restart(tmp_path):
    """SIGTERM (./mwaa-local stop, Ctrl-C) kills every job's group on the way out; the runs read FAILED on restart."""
    state = tmp_path / "state"
    cloud = process.start(state_dir=state)
    try:
        aws = process.clients(cloud.endpoint_url)
        done = aws("redshift-data").execute_statement(Sql="SELECT 1", Database="dev", WorkgroupName="local-wg")["Id"]
        _until(lambda: _status(aws("redshift-data"), done) == "FINISHED", "a statement's end")
        records = state / "redshift" / "submitted"  # an ended statement keeps no record (removed just after its end)
        _until(lambda: not list(records.iterdir()), "the removal of the statement's record")
        aws("s3").create_bucket(Bucket="graceful")
        aws("s3").put_object(Bucket="graceful", Key="children.py", Body=SPAWNS_CHILDREN.read_bytes())
        aws("glue").create_job(Name="graceful-sleeper", Role="r",
                               Command={"Name": "pythonshell", "ScriptLocation": "s3://graceful/children.py"})
        marker = tmp_path / "marker.json"
        run_id = aws("glue").start_job_run(JobName="graceful-sleeper", Arguments={
            "--marker": str(marker), "--wait": "1"})["JobRunId"]
        record = _until(lambda: marker.exists() and json.loads(marker.read_text()), "the job's marker")
        assert all(_alive(pid) for pid in record["pids"])
    finally:
        cloud.stop(signal.SIGTERM)
    assert cloud.process.returncode == 0  # it exited by itself, not by the SIGKILL stop() falls back to
    _until(lambda: not any(_alive(pid) for pid in record["pids"]), "the end of the job's processes")

    with process.start(state_dir=state) as cloud:
        glue = process.clients(cloud.endpoint_url)("glue")
        run = glue.get_job_run(JobName="graceful-sleeper", RunId=run_id)["JobRun"]
        assert (run["JobRunState"], run["ErrorMessage"]) == ("FAILED", jobs.restart_error("job run"))


def test_a_stopping_cloud_interrupts_a_long_statement_and_it_reads_failed_after_restart(tmp_path):
    """SIGTERM while a statement runs: the cloud exits by itself (a long query must not hold it open until the
    SIGKILL fallback), and the statement is settled like one cut by a crash."""
    cloud = process.start(state_dir=tmp_path)
    try:
        redshift = process.clients(cloud.endpoint_url)("redshift-data")
        running = redshift.execute_statement(Sql=ENDLESS, Database="dev", WorkgroupName="local-wg")["Id"]
        _until(lambda: _status(redshift, running) == "STARTED", "the endless statement's start")
    finally:
        cloud.stop(signal.SIGTERM, timeout=30)
    assert cloud.process.returncode == 0  # exited by itself, not by the SIGKILL stop() falls back to
    cloud = process.start(state_dir=tmp_path)
    try:
        described = process.clients(cloud.endpoint_url)("redshift-data").describe_statement(Id=running)
        assert (described["Status"], described["Error"]) == ("FAILED", jobs.restart_error("statement"))
    finally:
        cloud.stop()
