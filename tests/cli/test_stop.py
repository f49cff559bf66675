"""`./mwaa-local stop` ends every process recorded in .local/run (the whole process group and every descendant,
even one that left the group), and leaves alone a record's pid that now belongs to another process."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from mwaa_local import pid_records

CHILD_IN_OWN_SESSION = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "time.sleep(600)\n"
)


def _record(cli, monkeypatch, service: str, pid: int, started: float | None = None) -> None:
    monkeypatch.setenv("MWAA_LOCAL_STATE", str(cli.state))
    record = pid_records.write(service, pid, None, None, ["test"])
    if started is not None:
        record.path.write_text(record.path.read_text().replace(str(record.process_started), str(started)))


def _wait_children(proc: psutil.Process, n: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 60
    while len(proc.children(recursive=True)) < n:
        assert time.monotonic() < deadline, "the test's service did not start its children"
        time.sleep(0.05)
    return proc.children(recursive=True)


def test_stop_ends_a_recorded_service_with_its_group_and_descendants(cli, monkeypatch):
    service = subprocess.Popen([sys.executable, "-c", CHILD_IN_OWN_SESSION], start_new_session=True)
    family = [psutil.Process(service.pid)]
    try:
        family += _wait_children(family[0], 2)
        _record(cli, monkeypatch, "sleeper", service.pid)
        done = cli.run("stop", timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"sleeper: stopped (pid {service.pid})" in done.stdout
        service.wait(60)
        gone, alive = psutil.wait_procs(family, timeout=60)
        assert alive == [], f"still running: {alive}"
        assert list((cli.state / "run").glob("*.json")) == []
    finally:
        try:
            family += family[0].children(recursive=True)
        except psutil.NoSuchProcess:
            pass
        for proc in family:  # only what this test started (the session's cloud is a child of pytest too)
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass


def test_stale_records_are_dropped_and_a_reused_pid_is_not_killed(cli, monkeypatch):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        _record(cli, monkeypatch, "cloud-4566", dead.pid)  # the process is gone
        # Same pid, another process: the record's start time is a day earlier than the bystander's.
        _record(cli, monkeypatch, "reused", bystander.pid, started=psutil.Process(bystander.pid).create_time() - 86400)
        done = cli.run("stop", timeout=120)
        assert done.returncode == 0, done.stderr
        assert "local cloud: none running that ./mwaa-local started" in done.stdout
        assert bystander.poll() is None, "stop killed a process it did not start"
        assert list((cli.state / "run").glob("*.json")) == []
    finally:
        bystander.kill()
        bystander.wait()


def test_stop_ends_a_cloud_named_by_an_old_cloud_pid_file_but_never_another_program(cli, tmp_path):
    from mwaa_local.cloud import process

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        (cli.state / "cloud.pid").write_text(str(bystander.pid))
        done = cli.run("stop", timeout=120)
        assert done.returncode == 0 and bystander.poll() is None, "a pid that is no local cloud must survive"
        assert not (cli.state / "cloud.pid").exists()

        port = process.free_port()
        cloud = cli.popen("cloud", "--ephemeral", "--port", str(port), log=tmp_path / "cloud.log")
        deadline = time.monotonic() + 120
        while not process.health(f"http://127.0.0.1:{port}"):
            assert cloud.poll() is None and time.monotonic() < deadline, (tmp_path / "cloud.log").read_text()
            time.sleep(0.1)
        (cli.state / "cloud.pid").write_text(str(cloud.pid))
        done = cli.run("stop", timeout=120)
        assert done.returncode == 0 and f"stopped cloud (.local/cloud.pid) (pid {cloud.pid}" in done.stdout, done.stdout
        assert cloud.wait(60) is not None
    finally:
        bystander.kill()
        bystander.wait()


SERVICE_WITH_A_GRANDCHILD = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "time.sleep(600)\n"
)


def test_a_spared_descendant_survives_its_ancestors_kill_with_its_own_children():
    """What `stop` relies on when `up` must be killed: the cloud/MLflow/PostgreSQL it started (records of their own)
    are spared, then ended and reported by their own step."""
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {SERVICE_WITH_A_GRANDCHILD!r}], start_new_session=True)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
        "time.sleep(600)\n")], start_new_session=True)
    root = psutil.Process(parent.pid)
    family = [root]
    try:
        family += _wait_children(root, 3)
        service = next(p for p in root.children() if p.children())  # the child that has a child of its own
        kept = [service, *service.children(recursive=True)]
        ended = pid_records.terminate_tree(root, timeout=30, spare=frozenset({service.pid}))
        assert service.pid not in ended and root.pid in ended
        parent.wait(60)
        _, alive = psutil.wait_procs([p for p in family if p not in kept], timeout=60)
        assert alive == [], f"still running: {alive}"
        assert all(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in kept), kept
    finally:
        for proc in family:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
