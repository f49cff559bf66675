"""Run `./mwaa-local ...` as a user would: a subprocess of the real entry script, from an environment stripped of
everything the test harness sets (only PATH, HOME, LANG survive). Two documented user settings are added so a test
never touches the developer's .local/ or the default ports: MWAA_LOCAL_STATE (where local state lives) and
MWAA_LOCAL_POSTGRES_PORT."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from mwaa_local import paths
from mwaa_local.cloud import process

ENTRY = paths.ROOT / "mwaa-local"
KEPT = ("PATH", "HOME", "LANG")


@dataclass
class Cli:
    state: Path  # MWAA_LOCAL_STATE of the commands run through this fixture
    postgres_port: int

    def env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in KEPT if k in os.environ}
        env.update({"MWAA_LOCAL_STATE": str(self.state), "MWAA_LOCAL_POSTGRES_PORT": str(self.postgres_port)})
        return env

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(ENTRY), *args], cwd=paths.ROOT, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def popen(self, *args: str, log: Path) -> subprocess.Popen:
        with open(log, "wb") as out:
            return subprocess.Popen([str(ENTRY), *args], cwd=paths.ROOT, env=self.env(), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def make_state_dir(prefix: str) -> Path:
    """Not under pytest's tmp_path: as root the embedded PostgreSQL runs as the `pgserver` user, and every pytest
    session resets /tmp/pytest-of-<user> to 0700, locking that user out."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def end_recorded(state: Path) -> None:
    """Safety net after a test: end by pid whatever is still recorded under `state` (a test that failed before
    its `stop`), so nothing outlives the test."""
    import json

    from mwaa_local import pid_records

    for path in (state / "run").glob("*.json"):
        try:
            proc = pid_records.PidRecord(**json.loads(path.read_text())).process()
        except (OSError, ValueError, TypeError):
            continue
        if proc is not None:
            pid_records.terminate_tree(proc)


@pytest.fixture
def cli():
    state = make_state_dir("mwaa-cli-test-")
    yield Cli(state, process.free_port())
    end_recorded(state)
    shutil.rmtree(state, ignore_errors=True)


def assert_one_line_error(done: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """Exit code `code`, no traceback, and the message as the last stderr line; returns that line."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in line, (fragment, done.stderr)
    return line
