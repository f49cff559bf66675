"""A Glue job owns its processes: a script that starts children and ends (0 or 1), is stopped, or times out leaves no
process behind, and its state is there as soon as its main process is gone (children holding the log pipes cannot
delay it). Deadlines are generous; the children sleep 300 s, so a run that ends within the deadline was ended by the
cloud killing its group, not by the children finishing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mwaa_local.cloud import process
from tests.cloud.glue.conftest import ACTIVE, SCRIPTS, log_messages, pid_alive, wait_file, wait_state

SCRIPT = "spawns_children.py"


def _first_terminal_poll(glue, job: str, run_id: str, deadline: float = 60) -> tuple[dict, int]:
    """Polls from now until the run is terminal; returns it and how many polls it took."""
    give_up, polls = time.monotonic() + deadline, 0
    while True:
        polls += 1
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] not in ACTIVE:
            return run, polls
        assert time.monotonic() < give_up, f"run {run_id} still {run['JobRunState']} after {deadline} s"
        time.sleep(0.02)


def _no_process_left(record: dict) -> None:
    assert [pid for pid in record["pids"] if pid_alive(pid)] == []
    leftovers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == record["pgid"] and fields[0] != "Z":
                leftovers.append(int(entry.name))
    assert leftovers == [], f"processes left in the job's group {record['pgid']}"


@pytest.mark.parametrize(("exit_code", "state"), [(0, "SUCCEEDED"), (1, "FAILED")])
def test_script_that_leaves_children_behind(aws, make_job, tmp_path, exit_code, state):
    job = make_job(SCRIPT)
    marker = tmp_path / "marker.json"
    run_id = aws("glue").start_job_run(JobName=job, Arguments={
        "--marker": str(marker), "--exit_code": str(exit_code)})["JobRunId"]
    record = json.loads(wait_file(marker, timeout=60))  # written by the script just before it exits
    run, polls = _first_terminal_poll(aws("glue"), job, run_id)
    seen = time.time()
    print(f"\n{state}: script exit -> CompletedOn {run['CompletedOn'].timestamp() - record['exited_at']:.3f} s, "
          f"-> seen by a client {seen - record['exited_at']:.3f} s ({polls} polls)")
    assert run["JobRunState"] == state
    if exit_code:
        assert run["ErrorMessage"] == "a line on stderr"  # the script's last stderr line, as Glue reports it
    _no_process_left(record)
    assert log_messages(aws("logs"), "/aws-glue/python-jobs/output", run_id) == ["children started"]


def test_stop_job_run_kills_the_whole_group(aws, make_job, tmp_path):
    job = make_job(SCRIPT)
    marker = tmp_path / "marker.json"
    run_id = aws("glue").start_job_run(JobName=job, Arguments={"--marker": str(marker), "--wait": "1"})["JobRunId"]
    record = json.loads(wait_file(marker, timeout=60))
    assert all(pid_alive(pid) for pid in record["pids"])
    aws("glue").batch_stop_job_run(JobName=job, JobRunIds=[run_id])
    run, _ = _first_terminal_poll(aws("glue"), job, run_id)
    assert run["JobRunState"] == "STOPPED"
    _no_process_left(record)


def test_timeout_kills_the_whole_group(tmp_path, monkeypatch):
    monkeypatch.setenv("MWAA_LOCAL_GLUE_TIMEOUT_UNIT_SECONDS", "1")  # in this cloud, a Timeout minute lasts 1 s
    with process.start(ephemeral=True) as cloud:
        aws = process.clients(cloud.endpoint_url)
        aws("s3").create_bucket(Bucket="timeouts")
        aws("s3").put_object(Bucket="timeouts", Key=SCRIPT, Body=(SCRIPTS / SCRIPT).read_bytes())
        aws("glue").create_job(Name="group-timeout", Role="r", Timeout=2,
                               Command={"Name": "pythonshell", "ScriptLocation": f"s3://timeouts/{SCRIPT}"})
        marker = tmp_path / "marker.json"
        run_id = aws("glue").start_job_run(JobName="group-timeout", Arguments={
            "--marker": str(marker), "--wait": "1", "--ignore_term": "1"})["JobRunId"]
        record = json.loads(wait_file(marker, timeout=60))
        run = wait_state(aws("glue"), "group-timeout", run_id, "TIMEOUT", timeout=60)
        assert "timed out after 2 minutes" in run["ErrorMessage"]
        _no_process_left(record)
