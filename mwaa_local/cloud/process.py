"""Starting, finding and stopping the local cloud as a background process (used by tests and other commands)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mwaa_local import paths
from mwaa_local.cloud.client import (  # noqa: F401 - re-exported: process.clients() etc. are used widely
    DEFAULT_HOST,
    DEFAULT_PORT,
    DUMMY_CREDENTIALS,
    HEALTH_PATH,
    client_environment,
    clients,
    health,
)
from mwaa_local.errors import UserError


def default_state_dir() -> Path:
    return paths.local_state() / "cloud"


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


def _log_tail(log_file: Path | None) -> str:
    """The last line the cloud printed (its one-line error when it refused to start)."""
    if not log_file or not log_file.exists():
        return ""
    lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def start(port: int | None = None, state_dir: Path | None = None, ephemeral: bool = False,
          log_file: Path | None = None, timeout: float = 30) -> CloudProcess:
    """Starts `python -m mwaa_local cloud` in the background (its own session, so it and its children are one
    process group) and waits until it answers its health check."""
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
            tail = _log_tail(log_file)
            raise UserError(f"the local cloud exited with code {process.returncode}"
                            + (f": {tail.removeprefix('error: ')}" if tail else "")
                            + (f" (log: {log_file})" if log_file else ""))
        if health(endpoint_url):
            return CloudProcess(endpoint_url, process)
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise UserError(f"the local cloud did not answer on {endpoint_url} within {timeout:.0f} s"
                    + (f"; see {log_file}" if log_file else ""))


def record_name(port: int) -> str:
    return f"cloud-{port}"


def ensure_running(port: int = DEFAULT_PORT, state_dir: Path | None = None) -> CloudProcess:
    """Reuses a local cloud already answering on the port, else starts one in the background on `state_dir`
    (default .local/cloud) with its log in .local/cloud.log and a pid record in .local/run/cloud-<port>.json
    (`./mwaa-local stop` ends it). Refuses, before starting anything, when another cloud holds the state dir."""
    from mwaa_local import pid_records
    from mwaa_local.cloud.state import StateDirBusy, lock_holder

    endpoint_url = f"http://{DEFAULT_HOST}:{port}"
    if health(endpoint_url):
        return CloudProcess(endpoint_url, None)
    state_dir = Path(state_dir or default_state_dir()).resolve()
    holder = lock_holder(state_dir)
    if holder is not None:
        raise StateDirBusy(state_dir, holder)
    log_file = paths.local_state() / "cloud.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cloud = start(port, state_dir, log_file=log_file)
    pid_records.write(record_name(port), cloud.process.pid, port, state_dir, cloud.process.args)
    return cloud


def stop_background(timeout: float = 10) -> list[tuple[str, int]]:
    """Stops every local cloud that ensure_running started (one pid record each), with its process group and
    children. Returns (service, pid) of those stopped; stale records (process gone or pid reused) are dropped."""
    from mwaa_local import pid_records

    stopped = []
    legacy = paths.local_state() / "cloud.pid"  # written by versions before the pid records
    if legacy.exists():
        proc = _legacy_cloud(legacy)
        if proc is not None:
            pid_records.terminate_tree(proc, timeout)
            stopped.append(("cloud (.local/cloud.pid)", proc.pid))
        legacy.unlink(missing_ok=True)
    for record in pid_records.read_all():
        if not record.service.startswith("cloud-"):
            continue
        proc = record.process()
        if proc is not None:
            pid_records.terminate_tree(proc, timeout)
            stopped.append((record.service, record.pid))
        pid_records.remove(record)
    return stopped


def _legacy_cloud(pid_file: Path):
    """The process named by an old .local/cloud.pid, only if it still is a local cloud (never a reused pid)."""
    import psutil

    try:
        proc = psutil.Process(int(pid_file.read_text()))
        command = proc.cmdline()
    except (OSError, ValueError, psutil.Error):
        return None
    return proc if "mwaa_local" in command and "cloud" in command else None


def require_running(port: int = DEFAULT_PORT) -> str:
    """The endpoint of the local cloud answering on `port`; a clear error (how to start one) when none does.
    Commands that only talk to the cloud (sql, aws) never start one implicitly: a cloud started for one query
    would be left running, or gone before the user's next one."""
    endpoint_url = f"http://{DEFAULT_HOST}:{port}"
    if not health(endpoint_url, timeout=2):
        hint = "" if port == DEFAULT_PORT else f" --port {port}"
        raise UserError(f"no local cloud answers on {endpoint_url}; start one with `./mwaa-local demo{hint}` "
                        f"(it keeps running) or `./mwaa-local cloud{hint}` in another terminal")
    return endpoint_url
