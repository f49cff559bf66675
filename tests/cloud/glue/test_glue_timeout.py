"""Job Timeout and restart behaviour, each in a dedicated local cloud process.

Glue's Timeout is in minutes. So that the suite stays fast, the cloud started here gets
MWAA_LOCAL_GLUE_TIMEOUT_UNIT_SECONDS=1 (read by the cloud process only): a Timeout of N "minutes" then fires after
N s. The real minutes arithmetic is checked in test_glue_units.py::test_timeout_is_in_minutes.

No timed assertions: the clock of a timeout starts when the job's process is spawned, so the job gets
STARTUP_MARGIN "minutes" (seconds here) to start its interpreter, write its pid and log a line on a busy 2-core
machine, far more than it needs; the script sleeps ten times as long, so only the timeout can end it.
"""

from __future__ import annotations

import signal
import time

import pytest

from mwaa_local.cloud import process
from tests.cloud.glue.conftest import SCRIPTS, log_messages, pid_alive, wait_file, wait_run, wait_state

_clients = process.clients


def _sleeping_job(aws, timeout_minutes: int) -> None:
    aws("s3").create_bucket(Bucket="timeouts")
    aws("s3").put_object(Bucket="timeouts", Key="sleeps.py", Body=(SCRIPTS / "sleeps.py").read_bytes())
    aws("glue").create_job(Name="sleeper", Role="r", Timeout=timeout_minutes,
                           Command={"Name": "pythonshell", "ScriptLocation": "s3://timeouts/sleeps.py"})


STARTUP_MARGIN = 20  # the job's Timeout in "minutes" of 1 s each: the run's whole window, start-up included


@pytest.fixture
def fast_minutes(monkeypatch):
    monkeypatch.setenv("MWAA_LOCAL_GLUE_TIMEOUT_UNIT_SECONDS", "1")  # process.start passes os.environ through


def test_timeout_ends_the_run_and_its_process(tmp_path, fast_minutes):
    with process.start(ephemeral=True) as cloud:
        aws = _clients(cloud.endpoint_url)
        _sleeping_job(aws, timeout_minutes=STARTUP_MARGIN)
        pid_file = tmp_path / "pid"
        run_id = aws("glue").start_job_run(JobName="sleeper", Arguments={
            "--seconds": str(10 * STARTUP_MARGIN), "--pid_file": str(pid_file)})["JobRunId"]
        pid = int(wait_file(pid_file, timeout=STARTUP_MARGIN))
        _wait_for_log(aws("logs"), run_id, "sleeping", timeout=STARTUP_MARGIN)
        run = wait_run(aws("glue"), "sleeper", run_id, timeout=5 * STARTUP_MARGIN)
        assert run["JobRunState"] == "TIMEOUT", run.get("ErrorMessage")
        assert run["ErrorMessage"].startswith(f"Job run timed out after {STARTUP_MARGIN} minutes (the job's Timeout)")
        assert not pid_alive(pid)
        assert "sleeping" in log_messages(aws("logs"), "/aws-glue/python-jobs/output", run_id)
        assert any("timed out" in m for m in log_messages(aws("logs"), "/aws-glue/python-jobs/error", run_id))


def test_run_override_of_timeout(tmp_path, fast_minutes):
    with process.start(ephemeral=True) as cloud:
        aws = _clients(cloud.endpoint_url)
        _sleeping_job(aws, timeout_minutes=1)
        # the job's Timeout (1 s) would end this 2 s script; the run's override gives it a generous window
        run_id = aws("glue").start_job_run(JobName="sleeper", Timeout=10 * STARTUP_MARGIN, Arguments={
            "--seconds": "2", "--pid_file": str(tmp_path / "pid")})["JobRunId"]
        run = wait_run(aws("glue"), "sleeper", run_id, timeout=20 * STARTUP_MARGIN)
        assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
        assert run["Timeout"] == 10 * STARTUP_MARGIN


def _wait_for_log(logs, run_id: str, line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if line in log_messages(logs, "/aws-glue/python-jobs/output", run_id):
                return
        except logs.exceptions.ResourceNotFoundException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{line!r} never reached the log of {run_id}")


def test_run_interrupted_by_a_cloud_crash_is_failed_after_restart(tmp_path):
    state = tmp_path / "state"
    cloud = process.start(state_dir=state)
    aws = _clients(cloud.endpoint_url)
    _sleeping_job(aws, timeout_minutes=10)
    pid_file = tmp_path / "pid"
    run_id = aws("glue").start_job_run(JobName="sleeper", Arguments={
        "--seconds": "120", "--pid_file": str(pid_file)})["JobRunId"]
    pid = int(wait_file(pid_file))
    wait_state(aws("glue"), "sleeper", run_id, "RUNNING")
    _wait_for_log(aws("logs"), run_id, "sleeping")
    cloud.stop(signal.SIGKILL)
    assert pid_alive(pid)  # its own process group: the orphan outlives the cloud...
    with process.start(state_dir=state) as cloud:
        aws = _clients(cloud.endpoint_url)
        run = aws("glue").get_job_run(JobName="sleeper", RunId=run_id)["JobRun"]
        assert run["JobRunState"] == "FAILED"
        assert "local cloud stopped while this run was RUNNING" in run["ErrorMessage"]
        assert not pid_alive(pid)  # ...until the restarted cloud ends it
        assert "sleeping" in log_messages(aws("logs"), "/aws-glue/python-jobs/output", run_id)
