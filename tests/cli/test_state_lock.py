"""One local cloud per state directory: a second one (cloud or demo, any port) refuses to start, naming the pid and
port that hold the directory, so no write is lost to two processes snapshotting over each other; a crash releases
the lock (kill -9 and the directory is free again, with every acknowledged write in it)."""

from __future__ import annotations

import signal
import time

import pytest

from mwaa_local.cloud import process
from tests.cli.conftest import assert_one_line_error

DEADLINE_S = 120  # generous: the machine is shared


def _wait_healthy(endpoint_url: str, proc, log) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not process.health(endpoint_url):
        assert proc.poll() is None, f"the cloud exited early: {log.read_text()}"
        assert time.monotonic() < deadline, f"no answer from {endpoint_url}: {log.read_text()}"
        time.sleep(0.1)


@pytest.fixture
def first_cloud(cli, tmp_path):
    """`./mwaa-local cloud --port P` on the default state dir (MWAA_LOCAL_STATE/cloud), as a user starts it."""
    port, log = process.free_port(), tmp_path / "first.log"
    proc = cli.popen("cloud", "--port", str(port), log=log)
    endpoint_url = f"http://127.0.0.1:{port}"
    _wait_healthy(endpoint_url, proc, log)
    yield proc, port, endpoint_url
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_second_cloud_on_the_same_state_dir_refuses_and_no_write_is_lost(cli, first_cloud, tmp_path):
    proc, port, endpoint_url = first_cloud
    s3 = process.clients(endpoint_url)("s3")
    s3.create_bucket(Bucket="written-before")

    other_port = process.free_port()
    done = cli.run("cloud", "--port", str(other_port), "--state-dir", str(cli.state / "cloud"), timeout=DEADLINE_S)
    assert_one_line_error(done, 1, f"is in use by the local cloud with pid {proc.pid} on port {port}")
    assert process.health(f"http://127.0.0.1:{other_port}") is None

    s3.create_bucket(Bucket="written-after")  # the first cloud still owns the directory and keeps writing
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    log = tmp_path / "restarted.log"
    restarted = cli.popen("cloud", "--port", str(other_port), log=log)  # the crash released the lock
    try:
        _wait_healthy(f"http://127.0.0.1:{other_port}", restarted, log)
        buckets = {b["Name"] for b in process.clients(f"http://127.0.0.1:{other_port}")("s3").list_buckets()["Buckets"]}
        assert {"written-before", "written-after"} <= buckets
    finally:
        restarted.terminate()
        restarted.wait(DEADLINE_S)


def test_demo_on_another_port_refuses_instead_of_starting_a_second_cloud(cli, first_cloud):
    proc, port, _ = first_cloud
    other_port = process.free_port()
    done = cli.run("demo", "--port", str(other_port), "--orders", "1", "--days", "1", timeout=DEADLINE_S)
    assert_one_line_error(done, 1, f"pid {proc.pid} on port {port}", f"use that cloud (--port {port})")
    assert process.health(f"http://127.0.0.1:{other_port}") is None
    assert not (cli.state / "run").exists(), "no pid record: nothing was started"
    assert not (cli.state / "postgres").exists(), "the demo stopped before seeding anything"


def test_ephemeral_clouds_take_no_lock(cli, first_cloud, tmp_path):
    log = tmp_path / "ephemeral.log"
    port = process.free_port()
    ephemeral = cli.popen("cloud", "--ephemeral", "--port", str(port), log=log)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", ephemeral, log)
        assert process.health(f"http://127.0.0.1:{port}")["persistent"] is False
    finally:
        ephemeral.terminate()
        ephemeral.wait(DEADLINE_S)
