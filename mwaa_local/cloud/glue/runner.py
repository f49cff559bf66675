"""Running one job script in its own process: stage the script and --extra-py-files from S3 into a workspace,
start `python script.py --JOB_NAME ...` in a new process group (so Stop and Timeout kill the whole tree), and
stream its output line by line."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from mwaa_local.cloud.s3_objects import NoSuchBucket, NoSuchKey, S3Objects, split_uri

SHIM = Path(__file__).resolve().parent.parent.parent / "awsglue_shim"  # holds the `awsglue` package
# Only what a Python process needs from the cloud's environment; the job must not inherit Airflow's settings.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


class RunError(Exception):
    """A run that cannot start; the message becomes the run's ErrorMessage."""


def _fetch(s3: S3Objects, uri: str, what: str) -> bytes:
    try:
        bucket, key = split_uri(uri)
    except ValueError as exc:
        raise RunError(f"{what} {uri!r} is not an S3 URI (expected s3://bucket/key)") from exc
    try:
        return s3.get(bucket, key)
    except (NoSuchKey, NoSuchBucket) as exc:
        raise RunError(f"{what} {uri} not found: {exc}") from exc


def stage(s3: S3Objects, workspace: Path, script_location: str, extra_py_files: list[str]) -> tuple[Path, list[str]]:
    """Downloads the script and extra Python files; returns the script path and the PYTHONPATH entries to add."""
    workspace.mkdir(parents=True, exist_ok=True)
    script = workspace / (os.path.basename(split_uri(script_location)[1]) if script_location.startswith("s3://")
                          else "script.py")
    script.write_bytes(_fetch(s3, script_location, "ScriptLocation"))
    py_dir = workspace / "py"
    paths = []
    for uri in extra_py_files:
        name = os.path.basename(uri.rstrip("/"))
        if not name.endswith((".py", ".zip", ".whl", ".egg")):
            raise RunError(f"--extra-py-files entry {uri} must be a .py, .zip, .whl or .egg file")
        py_dir.mkdir(exist_ok=True)
        target = py_dir / name
        target.write_bytes(_fetch(s3, uri, "--extra-py-files entry"))
        if name.endswith(".py"):
            if str(py_dir) not in paths:
                paths.append(str(py_dir))
        else:
            paths.append(str(target))  # archives are importable from their own path
    return script, paths


def job_environment(endpoint_url: str, region: str, extra_paths: list[str]) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.update({
        "AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([*extra_paths, str(SHIM)]),
    })
    return env


def spawn(script: Path, argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            text=True, errors="replace", bufsize=1)


def pump(stream, on_line: Callable[[str], None], tail: collections.deque | None = None) -> threading.Thread:
    """Reads `stream` to its end in a thread, handing each line to on_line (and keeping the last ones in tail)."""
    def loop() -> None:
        for line in stream:
            on_line(line)
            if tail is not None:
                tail.append(line)
        stream.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def kill_tree(pid: int, grace: float = 3.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds if anything is left."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie leader still "exists": look for a member that is not a zombie
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def is_our_process(pid: int, run_id: str) -> bool:
    """Whether pid still is the job process of run_id (pids get reused after a restart)."""
    try:
        return run_id in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
