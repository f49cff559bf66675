"""Starting, finding and stopping the local cloud as a background process (used by tests and other commands)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mwaa_local import paths
from mwaa_local.cloud.server import HEALTH_PATH
from mwaa_local.errors import UserError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


def default_state_dir() -> Path:
    return paths.local_state() / "cloud"


def client_environment(endpoint_url: str) -> dict[str, str]:
    """What a process needs to talk to the local cloud with boto3, the Airflow provider, awswrangler or MLflow."""
    return {"AWS_ENDPOINT_URL": endpoint_url, **DUMMY_CREDENTIALS}


def clients(endpoint_url: str, region: str = DUMMY_CREDENTIALS["AWS_DEFAULT_REGION"]):
    """A boto3 client factory for the local cloud with dummy credentials: `clients(url)("s3")`."""
    import boto3

    session = boto3.session.Session(region_name=region, aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    return lambda service: session.client(service, endpoint_url=endpoint_url)


def health(endpoint_url: str, timeout: float = 0.5) -> dict | None:
    try:
        with urllib.request.urlopen(endpoint_url + HEALTH_PATH, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((DEFAULT_HOST, 0))
        return sock.getsockname()[1]


@dataclass
class CloudProcess:
    endpoint_url: str
    process: subprocess.Popen | None  # None when we found one already running

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> CloudProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(port: int | None = None, state_dir: Path | None = None, ephemeral: bool = False,
          log_file: Path | None = None, timeout: float = 30) -> CloudProcess:
    """Starts `python -m mwaa_local cloud` in the background and waits until it answers its health check."""
    port = port or free_port()
    endpoint_url = f"http://{DEFAULT_HOST}:{port}"
    cmd = [sys.executable, "-m", "mwaa_local", "cloud", "--port", str(port)]
    cmd += ["--ephemeral"] if ephemeral else ["--state-dir", str(state_dir or default_state_dir())]
    env = {**os.environ, "PYTHONPATH": str(paths.ROOT)}
    output = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(cmd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"the local cloud exited with code {process.returncode}"
                            + (f"; see {log_file}" if log_file else ""))
        if health(endpoint_url):
            return CloudProcess(endpoint_url, process)
        time.sleep(0.05)
    process.kill()
    raise UserError(f"the local cloud did not answer on {endpoint_url} within {timeout:.0f} s")


def pid_file() -> Path:
    return paths.local_state() / "cloud.pid"


def ensure_running(port: int = DEFAULT_PORT, state_dir: Path | None = None) -> CloudProcess:
    """Reuses a local cloud already answering on the port, else starts one in the background with the default
    state dir (its pid in .local/cloud.pid, its log in .local/cloud.log; `./mwaa-local stop` ends it)."""
    endpoint_url = f"http://{DEFAULT_HOST}:{port}"
    if health(endpoint_url):
        return CloudProcess(endpoint_url, None)
    log_file = paths.local_state() / "cloud.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cloud = start(port, state_dir, log_file=log_file)
    pid_file().write_text(str(cloud.process.pid))
    return cloud


def stop_background(timeout: float = 10) -> int | None:
    """Stops the cloud that ensure_running started; returns its pid, or None if none was running."""
    try:
        pid = int(pid_file().read_text())
    except (OSError, ValueError):
        return None
    pid_file().unlink(missing_ok=True)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return pid
