"""The shared job-process runner (mwaa_local/cloud/jobs.py) on its own: process groups, pipes, stop, timeout, and
processes that die with the cloud. Deadlines are generous; what is asserted is states and which processes exist."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mwaa_local.cloud import jobs

SPAWNS_CHILDREN = Path(__file__).parent / "glue" / "scripts" / "spawns_children.py"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.02)


class Lines:
    """A log sink that records lines and flushes."""

    def __init__(self):
        self.lines: list[str] = []
        self.flushes = 0

    def write(self, line: str) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        self.flushes += 1


def spec(tmp_path: Path, command: list[str], **kwargs) -> jobs.JobSpec:
    kwargs.setdefault("job_id", f"test-{time.monotonic_ns()}")
    return jobs.JobSpec(command=command, cwd=tmp_path, env={"PATH": os.environ["PATH"]}, **kwargs)


def children_job(tmp_path: Path, *extra: str, **kwargs) -> tuple[jobs.JobSpec, Path]:
    marker = tmp_path / "marker.json"
    command = [sys.executable, str(SPAWNS_CHILDREN), "--marker", str(marker), *extra]
    return spec(tmp_path, command, **kwargs), marker


@pytest.mark.parametrize("exit_code", [0, 1])
def test_script_that_leaves_children_ends_promptly_with_its_whole_group(tmp_path, exit_code):
    out, err, reported = Lines(), Lines(), []
    job_spec, marker = children_job(tmp_path, "--exit_code", str(exit_code), stdout=out, stderr=err,
                                    on_exit=reported.append)
    job = jobs.start(job_spec)
    outcome = job.wait(timeout=60)
    assert outcome is not None, "the job never ended although its main process exited"
    record = json.loads(marker.read_text())
    print(f"\nmain process exit -> outcome: {outcome.ended - record['exited_at']:.3f} s")
    # The children sleep 300 s and hold both pipes: the outcome came because the group was killed, not because
    # they ended, and none of them is left.
    assert outcome.returncode == exit_code and not outcome.timed_out and not outcome.stopped
    assert outcome.succeeded is (exit_code == 0)
    assert [pid for pid in record["pids"] if alive(pid)] == []
    assert jobs.group_members(record["pgid"]) == []
    assert reported == [outcome]
    assert out.lines == ["children started"] and err.lines == ["a line on stderr"]
    assert outcome.stderr_tail == ("a line on stderr",)
    assert out.flushes >= 1


def test_children_that_ignore_sigterm_are_killed(tmp_path):
    job_spec, marker = children_job(tmp_path, "--ignore_term", "1")
    outcome = jobs.start(job_spec).wait(timeout=60)
    assert outcome is not None and outcome.returncode == 0
    assert [pid for pid in json.loads(marker.read_text())["pids"] if alive(pid)] == []


def test_stop_kills_the_whole_group(tmp_path):
    job_spec, marker = children_job(tmp_path, "--wait", "1", "--ignore_term", "1", stop_grace=0.5)
    job = jobs.start(job_spec)
    pids = wait_for(lambda: marker.exists() and json.loads(marker.read_text())["pids"], what="the marker")
    assert all(alive(pid) for pid in pids)
    job.stop()
    outcome = job.wait(timeout=60)
    assert outcome is not None and outcome.stopped and not outcome.timed_out
    assert outcome.returncode == -signal.SIGTERM
    assert [pid for pid in pids if alive(pid)] == []


def test_timeout_kills_the_whole_group(tmp_path):
    job_spec, marker = children_job(tmp_path, "--wait", "1", timeout=1.0)
    outcome = jobs.start(job_spec).wait(timeout=60)
    assert outcome is not None and outcome.timed_out and not outcome.stopped
    assert [pid for pid in json.loads(marker.read_text())["pids"] if alive(pid)] == []


def test_output_is_delivered_line_by_line_and_callables_are_sinks(tmp_path):
    lines: list[str] = []
    code = "import sys\nfor i in range(3000): print(f'line {i}')\nsys.stdout.write('no newline at end')"
    outcome = jobs.start(spec(tmp_path, [sys.executable, "-c", code], stdout=lines.append)).wait(timeout=60)
    assert outcome.returncode == 0
    assert lines == [f"line {i}" for i in range(3000)] + ["no newline at end"]


@pytest.mark.parametrize("scrub", [False, True])
def test_a_process_that_escaped_the_group(tmp_path, scrub):
    """setsid() takes a process out of the group and it still holds the pipes: the job ends all the same, and the
    escaped process is killed by its marker, unless it also scrubbed its environment."""
    env = "env -i " if scrub else ""
    # The script exits only once the child has escaped (it runs `sleep`: setsid and env -i are done); else the job
    # could end while the child is still in the group with its marker, and the test would race its own setup.
    code = textwrap.dedent(f"""
        import subprocess, time
        child = subprocess.Popen('exec setsid {env}sleep 300', shell=True)
        open('escaped.pid', 'w').write(str(child.pid))
        deadline = time.monotonic() + 30
        while open(f'/proc/{{child.pid}}/comm').read().strip() != 'sleep' and time.monotonic() < deadline:
            time.sleep(0.01)
    """)
    outcome = jobs.start(spec(tmp_path, [sys.executable, "-c", code])).wait(timeout=60)
    escaped = int((tmp_path / "escaped.pid").read_text())
    try:
        assert outcome is not None and outcome.returncode == 0
        assert alive(escaped) is scrub
    finally:
        if alive(escaped):
            os.kill(escaped, signal.SIGKILL)


def test_environment_is_exactly_the_spec_plus_the_markers(tmp_path):
    lines: list[str] = []
    job_spec = spec(tmp_path, [sys.executable, "-c", "import os; print(sorted(os.environ))"], stdout=lines.append,
                    job_id="env-check")
    assert jobs.start(job_spec).wait(timeout=60).returncode == 0
    assert set(eval(lines[0])) - {"LC_CTYPE"} == {"PATH", jobs.MARKER_ENV, jobs.OWNER_ENV}  # Python may add LC_CTYPE


def test_missing_executable_or_cwd_is_a_start_error(tmp_path):
    with pytest.raises(jobs.JobStartError, match="no-such-program"):
        jobs.start(spec(tmp_path, ["no-such-program-anywhere"]))
    with pytest.raises(jobs.JobStartError, match="No such file or directory"):
        jobs.start(spec(tmp_path / "missing", ["true"]))
    assert not any(job.spec.command == ["no-such-program-anywhere"] for job in jobs.running())


def test_kill_leftovers_finds_processes_by_their_job_marker(tmp_path):
    env = {"PATH": os.environ["PATH"], jobs.MARKER_ENV: "leftover-job"}
    other = {"PATH": os.environ["PATH"], jobs.MARKER_ENV: "someone-else"}
    leftover = subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)
    bystander = subprocess.Popen(["sleep", "300"], env=other, start_new_session=True)
    try:
        assert jobs.kill_leftovers(["leftover-job"]) == 1
        assert leftover.wait(timeout=30) == -signal.SIGKILL
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_kill_leftovers_leaves_a_live_cloud_s_job_of_the_same_name_alone(tmp_path):
    """Two clouds on one machine (parallel test workers, `demo` beside `up`) may run jobs of the same name: one
    cloud's cleanup must not kill the other's job, only its own and those of a cloud that is gone."""
    other_cloud = subprocess.Popen(["sleep", "300"], start_new_session=True)
    dead_cloud = subprocess.Popen(["true"])
    dead_cloud.wait()
    marked = {"PATH": os.environ["PATH"], jobs.MARKER_ENV: "same-name"}
    owners = {"other": f"{other_cloud.pid}:{jobs._start_time(other_cloud.pid)}", "dead": f"{dead_cloud.pid}:1",
              "mine": jobs._owner_token()}
    procs = {name: subprocess.Popen(["sleep", "300"], env={**marked, jobs.OWNER_ENV: owner}, start_new_session=True)
             for name, owner in owners.items()}
    try:
        assert jobs.kill_leftovers(["same-name"]) == 2
        assert procs["mine"].wait(timeout=30) == -signal.SIGKILL and procs["dead"].wait(timeout=30) == -signal.SIGKILL
        assert procs["other"].poll() is None
    finally:
        for proc in [*procs.values(), other_cloud]:
            proc.kill()
            proc.wait()


@pytest.mark.serial  # its orphans must live until reaped: a cloud another worker starts would reap them first
@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "prctl-preexec"])
def test_a_job_dies_with_the_process_that_started_it(tmp_path, setpriv):
    """kill -9 of the cloud runs no handler: the kernel kills the job's main process (PR_SET_PDEATHSIG, set by
    setpriv or, without it, by prctl), and what it started is killed by the next cloud's reap_orphans, which leaves
    jobs of live clouds alone."""
    if setpriv and not jobs._SETPRIV:
        pytest.skip("util-linux setpriv is not installed")
    host = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        from mwaa_local.cloud import jobs
        if not {setpriv}:
            jobs._SETPRIV = None
        lines = []
        job = jobs.start(jobs.JobSpec(job_id='orphaned', command=['sh', '-c', 'sleep 300 & echo $!; wait'],
                                      cwd=Path('.'), env={{'PATH': {os.environ["PATH"]!r}}}, stdout=lines.append))
        while not lines:
            time.sleep(0.01)
        print(job.pid, lines[0], flush=True)
        time.sleep(300)
    """)
    cloud = subprocess.Popen([sys.executable, "-c", host], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    main_pid, child_pid = map(int, cloud.stdout.readline().split())
    ours = jobs.start(spec(tmp_path, ["sleep", "300"], job_id="alive-owner"))  # this process owns it: not an orphan
    try:
        assert alive(main_pid) and alive(child_pid)
        cloud.kill()
        cloud.wait()
        wait_for(lambda: not alive(main_pid), what="the job's death with its parent")
        assert alive(child_pid)  # no handler ran: only a later cloud can end it
        assert jobs.reap_orphans() >= 1  # (more if another dead cloud left some)
        wait_for(lambda: not alive(child_pid), what="the orphan's end")
        assert alive(ours.pid)
    finally:
        ours.stop()
        assert ours.wait(timeout=60).stopped


def test_stop_after_the_end_is_harmless(tmp_path):
    job = jobs.start(spec(tmp_path, ["true"]))
    assert job.wait(timeout=60).returncode == 0
    job.stop()  # the wake pipe is closed: nothing is written anywhere
    threading.Thread(target=job.stop).start()
