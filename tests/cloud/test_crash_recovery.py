"""Crash semantics: after `kill -9` of the local cloud and a restart on the same state dir, every statement and job
run that was in flight reads FAILED with an error saying the cloud restarted (never "not found"), and the processes
of the interrupted Glue run are gone."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from mwaa_local.cloud import jobs, process

SPAWNS_CHILDREN = Path(__file__).parent / "glue" / "scripts" / "spawns_children.py"
TEN = "ten"
# 10^12 rows through a cross join: it runs until the cloud dies (DuckDB streams it; no memory grows).
ENDLESS = "SELECT count(*) FROM " + ", ".join(f"{TEN} t{n}" for n in range(12))


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


def test_in_flight_statements_and_job_runs_read_failed_after_kill_9(tmp_path):
    state = tmp_path / "state"
    cloud = process.start(state_dir=state)
    try:
        aws = process.clients(cloud.endpoint_url)
        redshift, glue, target = aws("redshift-data"), aws("glue"), {"Database": "dev", "WorkgroupName": "local-wg"}
        setup = redshift.batch_execute_statement(Sqls=[
            f"CREATE TABLE {TEN} (n int)", f"INSERT INTO {TEN} VALUES " + ", ".join(f"({n})" for n in range(10))],
            **target)["Id"]
        _until(lambda: _status(redshift, setup) in ("FINISHED", "FAILED", "ABORTED"), "the setup's end")
        assert _status(redshift, setup) == "FINISHED", redshift.describe_statement(Id=setup)
        running = redshift.execute_statement(Sql=ENDLESS, **target)["Id"]
        _until(lambda: _status(redshift, running) == "STARTED", "the endless statement's start")
        queued = redshift.execute_statement(Sql=f"SELECT count(*) FROM {TEN}", **target)["Id"]  # waits for the lock

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
        assert _status(redshift, setup) == "FINISHED"

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
