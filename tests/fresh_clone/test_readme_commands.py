"""The README's commands that need no services, as a new user runs them: from a fresh `git clone`, with an
environment that holds nothing the test harness sets (no AIRFLOW__*, PYTHONPATH, AWS_*, PLATFORM_ENV ...).

The clone is of this working tree's HEAD plus its uncommitted changes to tracked files (`git stash create` makes
a commit of them without touching the worktree), so the test checks what is being worked on.
MWAA_LOCAL_VENV points the clone's ./mwaa-local at this checkout's existing .venv: bootstrapping a second venv
from the lock would only re-test uv's installer and cost a minute on a shared machine; every other byte the
commands use (the CLI, plugins/, include/, requirements.txt, pins) comes from the clone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mwaa_local import paths

KEPT = ("PATH", "HOME", "LANG")
# How this machine reaches PyPI (its TLS trust store, a proxy): the user's machine set-up, not anything the test
# harness sets; test-requirements asks PyPI through uv and fails without them on a machine behind a TLS proxy.
NETWORK = ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
           "no_proxy")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if not (paths.ROOT / ".git").exists():
        pytest.fail(f"{paths.ROOT} is not a git checkout: the fresh-clone test needs one")
    target = tmp_path_factory.mktemp("fresh") / "repo"
    snapshot = _git("stash", "create", cwd=paths.ROOT) or "HEAD"
    _git("clone", "--quiet", "--no-hardlinks", str(paths.ROOT), str(target), cwd=paths.ROOT)
    if snapshot != "HEAD":
        _git("fetch", "--quiet", str(paths.ROOT), snapshot, cwd=target)
        _git("checkout", "--quiet", "--detach", snapshot, cwd=target)
    assert not (target / ".venv").exists() and not (target / "dist").exists()
    return target


def _bare_environment() -> dict[str, str]:
    env = {k: os.environ[k] for k in (*KEPT, *NETWORK) if k in os.environ}
    env["MWAA_LOCAL_VENV"] = str(Path(sys.prefix))  # this checkout's .venv; see the module docstring
    return env


def _run(clone: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["./mwaa-local", *args], cwd=clone, env=_bare_environment(), capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=timeout)


def _explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"


def test_the_environment_is_really_bare():
    env = _bare_environment()
    assert set(env) <= {*KEPT, *NETWORK, "MWAA_LOCAL_VENV"}
    assert not any(k.startswith(("AIRFLOW", "AWS_", "PYTHON", "PLATFORM", "MWAA_INCLUDE")) for k in env)


def test_package_builds_and_every_module_imports(clone):
    proc = _run(clone, "package")
    assert proc.returncode == 0, _explain(proc)
    assert "do not import" not in proc.stdout and "FAIL" not in proc.stdout, _explain(proc)
    assert (clone / "dist" / "plugins.zip").is_file()


def test_help_lists_the_commands(clone):
    proc = _run(clone, "--help")
    assert proc.returncode == 0, _explain(proc)
    for command in ("demo", "test", "lint", "test-requirements", "package", "bench"):
        assert command in proc.stdout, _explain(proc)


def test_lint_passes(clone):
    proc = _run(clone, "lint")
    assert proc.returncode == 0, _explain(proc)
    assert "lint: clean" in proc.stdout, _explain(proc)


def test_requirements_resolve_under_the_mwaa_pins(clone):
    proc = _run(clone, "test-requirements")
    assert proc.returncode == 0, _explain(proc)
    assert "resolves for" in proc.stdout, _explain(proc)
