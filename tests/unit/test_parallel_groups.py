"""How `./mwaa-local test` distributes tests over xdist workers (tests/conftest.py), on a small suite of its own:
a module stays on one worker in order, modules sharing the e2e stack share a worker, a `serial` test runs while no
other test does, and each worker has its own MWAA_LOCAL_STATE."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mwaa_local import paths

RECORDER = '''
import json, os, time
import pytest

def record(name, what):
    with open(os.environ["EVENTS"], "a") as out:
        out.write(json.dumps([name, what, os.environ["PYTEST_XDIST_WORKER"], os.environ["MWAA_LOCAL_STATE"]]) + "\\n")

def step(name):
    record(name, "start")
    time.sleep(0.3)
    record(name, "end")
'''
SHARED_FIXTURE = '''

@pytest.fixture(scope="session")
def etl():
    return "the e2e stack"
'''


def _module(tests: list[str]) -> str:
    return "from recorder import step\nimport pytest\n\n" + "\n".join(tests) + "\n"


def test_groups_and_serial_tests_on_workers(tmp_path):
    (tmp_path / "conftest.py").write_text((paths.ROOT / "tests" / "conftest.py").read_text() + SHARED_FIXTURE)
    (tmp_path / "recorder.py").write_text(RECORDER)
    for name in ("a", "b", "c"):
        (tmp_path / f"test_{name}.py").write_text(_module(
            [f"def test_{name}{i}():\n    step('{name}{i}')\n" for i in range(4)]))
    for name in ("e2e_one", "e2e_two"):
        (tmp_path / f"test_{name}.py").write_text(_module(
            [f"def test_{name}{i}(etl):\n    step('{name}{i}')\n" for i in range(2)]))
    (tmp_path / "test_serial.py").write_text(_module(
        ["@pytest.mark.serial\ndef test_alone():\n    step('alone')\n", "def test_beside():\n    step('beside')\n"]))
    events = tmp_path / "events.jsonl"
    env = {**os.environ, "EVENTS": str(events), "PYTHONPATH": f"{tmp_path}{os.pathsep}{paths.ROOT}"}
    for inherited in ("MWAA_LOCAL_STATE", "MWAA_LOCAL_TEST_RUN_DIR", "MWAA_LOCAL_TEST_GROUPS"):
        env.pop(inherited, None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "3", "--dist", "loadgroup", "--no-loadscope-reorder",
                           "-p", "no:cacheprovider", "-q", "-o", "markers=serial: alone", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    starts = [(name, worker) for name, what, worker, _ in lines if what == "start"]
    assert len(starts) == 12 + 4 + 2
    workers = {}
    for name, worker in starts:
        workers.setdefault(name.rstrip("0123456789"), set()).add(worker)
    assert all(len(used) == 1 for used in workers.values()), workers  # a module never spans workers
    assert workers["e2e_one"] == workers["e2e_two"]  # they share the session fixture `etl`
    for module in ("a", "b", "c"):  # in collection order
        assert [n for n, _ in starts if n.rstrip("0123456789") == module] == [f"{module}{i}" for i in range(4)]
    alone = [i for i, (name, what, _, _) in enumerate(lines) if name == "alone"]
    running = 0  # how many other tests are between their start and end when the serial test starts and ends
    for i, (name, what, _, _) in enumerate(lines):
        if name != "alone":
            running += 1 if what == "start" else -1
        if i in alone:
            assert running == 0, f"another test ran beside the serial one: {lines}"
    states = {worker: state for _, _, worker, state in lines}
    assert len(set(states.values())) == len(states) and str(paths.ROOT / ".local") not in states.values()
    assert len(states) >= 2, states  # the groups really were spread over workers
