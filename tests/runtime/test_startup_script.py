"""`./mwaa-local test-startup-script`: MWAA's rules for startup.sh (sourced, time limit, protected variables)."""

from __future__ import annotations

import os
import time

from mwaa_local.runtime import protected
from tests.cli.conftest import assert_one_line_error


def _script(tmp_path, body: str):
    path = tmp_path / "startup.sh"
    path.write_text(body)
    return path


def _sections(stdout: str) -> tuple[str, str]:
    set_part = stdout.split("set (", 1)[1].split("refused (", 1)[0]
    refused_part = stdout.split("refused (", 1)[1].split("---", 1)[0]
    return set_part, refused_part


def test_exports_reach_components_and_protected_ones_are_refused(cli, tmp_path):
    script = _script(tmp_path, "export AIRFLOW_HOME=/somewhere/else\nexport MY_FLAG=1\nexport MWAA__CORE__X=1\n"
                               "export AWS_ACCESS_KEY_ID=mine\necho from-the-script\n")
    done = cli.run("test-startup-script", str(script), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    set_part, refused_part = _sections(done.stdout)
    assert "MY_FLAG=1" in set_part
    assert "AWS_ACCESS_KEY_ID=mine" in set_part  # no blanket AWS_* block on MWAA
    assert "AIRFLOW_HOME" not in set_part and "AIRFLOW_HOME: protected" in refused_part
    assert "MWAA__CORE__X: protected" in refused_part
    assert "from-the-script" in done.stdout


def test_a_script_past_the_limit_is_killed_with_its_children_and_fails(cli, tmp_path):
    pid_file = tmp_path / "child.pid"
    script = _script(tmp_path, f"sleep 600 &\necho $! > {pid_file}\nexport LATE=1\nwait\n")
    env = {**cli.env(), "MWAA_LOCAL_STARTUP_TIMEOUT": "2"}
    import subprocess

    from tests.cli.conftest import ENTRY

    done = subprocess.run([str(ENTRY), "test-startup-script", str(script)], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "past the 2 s limit" in done.stdout and "FAILED" in done.stdout
    assert "LATE" not in done.stdout  # a killed script's exports are never applied
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child), "the script's background child outlived the timeout"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead
        return stat.read().split()[2] != "Z"


def test_a_script_that_exits_non_zero_fails_and_its_exit_is_caught(cli, tmp_path):
    script = _script(tmp_path, "export BEFORE_EXIT=1\nexit 3\nexport NEVER=1\n")
    done = cli.run("test-startup-script", str(script), timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "exited with code 3" in done.stdout
    set_part, _ = _sections(done.stdout)
    assert "BEFORE_EXIT=1" in set_part and "NEVER" not in done.stdout  # sourced: the wrapper still dumps


def test_a_bad_timeout_setting_is_one_line(cli, tmp_path):
    import subprocess

    from tests.cli.conftest import ENTRY

    script = _script(tmp_path, "true\n")
    done = subprocess.run([str(ENTRY), "test-startup-script", str(script)], capture_output=True, text=True,
                          env={**cli.env(), "MWAA_LOCAL_STARTUP_TIMEOUT": "soon"}, timeout=120)
    assert_one_line_error(done, 1, "MWAA_LOCAL_STARTUP_TIMEOUT", "positive number")


def test_the_refusal_rules_follow_mwaa():
    assert protected.refusal_reason("MWAA__ANYTHING")
    assert protected.refusal_reason("PYTHONPATH")
    assert protected.refusal_reason("AIRFLOW__CORE__EXECUTOR")  # essential settings always win
    assert protected.refusal_reason("AWS_ACCESS_KEY_ID") is None
    assert protected.refusal_reason("AIRFLOW__CORE__PARALLELISM") is None
