"""`./mwaa-local test-requirements --install`, from a clean environment as a user runs it: a requirements file
that installs into the scratch venv, and one that cannot (uv's own explanation printed, exit 1)."""

from __future__ import annotations

import os
import subprocess

import pytest

from mwaa_local import paths
from mwaa_local.requirements_check import CONSTRAINT_URL, load_pins
from tests.fresh_clone.test_readme_commands import KEPT, NETWORK

pytestmark = pytest.mark.timeout(600)


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: os.environ[k] for k in KEPT + NETWORK if k in os.environ}
    return subprocess.run([str(paths.ROOT / "mwaa-local"), "test-requirements", *args], cwd=paths.ROOT, env=env,
                          capture_output=True, text=True, timeout=540, stdin=subprocess.DEVNULL)


def test_a_small_requirements_file_installs_into_a_scratch_venv(tmp_path):
    six = load_pins()["six"]  # a package with no dependencies, at the version MWAA pins
    wanted = tmp_path / "requirements.txt"
    wanted.write_text(f'--constraint "{CONSTRAINT_URL}"\nsix=={six}\n')
    done = _run("--requirements", str(wanted), "--install")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resolves for MWAA Airflow 3.3.1" in done.stdout
    assert "installed into a scratch venv" in done.stdout and "1 packages; the venv was removed" in done.stdout
    assert not list(tmp_path.glob("venv*")), "the scratch venv must not land beside the file"


def test_a_requirements_file_that_cannot_install_prints_uvs_error(tmp_path):
    wanted = tmp_path / "requirements.txt"
    # A pin against MWAA's own (six is pinned there): no installer can satisfy both.
    wanted.write_text(f'--constraint "{CONSTRAINT_URL}"\nsix==1.16.0\n')
    done = _run("--requirements", str(wanted), "--install")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("--install:"))
    assert "could not be installed into a scratch venv" in line, done.stdout
    assert "No solution found" in done.stdout and "six==1.16.0" in done.stdout.split(line, 1)[1], done.stdout


def test_without_install_nothing_is_installed(tmp_path):
    wanted = tmp_path / "requirements.txt"
    wanted.write_text(f'--constraint "{CONSTRAINT_URL}"\nsix=={load_pins()["six"]}\n')
    done = _run("--requirements", str(wanted))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--install" not in done.stdout
