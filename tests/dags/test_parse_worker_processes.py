"""The parse worker owns its processes: a process that DAG code starts behind the blocked process events (a fork
in C, as a native extension could) is killed with the worker, and does not stall the harness.

Kept out of the mutation check's harness: each run writes a file with a fresh marker, which a replay cannot hold.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

from mwaa_local import dag_integrity as di

# Forks through libc (no audit event fires), and the child becomes a long sleep that nobody waits for.
LEAVES_A_CHILD = '''
import ctypes
from datetime import datetime, timedelta

from airflow.sdk import dag, task

libc = ctypes.CDLL(None)
if libc.fork() == 0:
    libc.execl(b"/bin/sleep", b"sleep", b"{marker}", None)
    libc._exit(127)


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["test"], description="Leaves a child.",
     default_args={{"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=5)}})
def leaves_a_child():
    @task
    def noop():
        return None

    noop()


leaves_a_child()
'''
GONE_DEADLINE = 60  # SIGKILL is delivered asynchronously; a generous bound, never a measurement


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile
                pass
    return found


def test_a_process_left_by_dag_code_dies_with_the_worker(tmp_path):
    marker = f"{600 + secrets.randbelow(10**6) / 10**6:.6f}"  # a sleep duration no other process has
    (tmp_path / "leaves_a_child.py").write_text(LEAVES_A_CHILD.format(marker=marker))
    report = di.check_folder(tmp_path, files=["leaves_a_child.py"])
    try:
        assert report.files[0].crash is None, report.violations  # it did not stall until the worker timeout
        assert [d["dag_id"] for d in report.files[0].dags] == ["leaves_a_child"]
        deadline = time.monotonic() + GONE_DEADLINE
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_with(marker) == [], "the sleep started while parsing outlived the parse worker"
    finally:
        for pid in _processes_with(marker):
            os.kill(pid, signal.SIGKILL)
