"""`up` to "UI answers and every DAG parsed", cold-ish (first start) and warm (second start: venv, PostgreSQL
cluster and migrated DB in place), then how long a new DAG file in dags/ takes to show in the REST API.
Targets: warm start under 30 s, an edit visible under 10 s. Refuses while an `up` runs; ends with `down`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from mwaa_local import arguments, paths

HELP = "up until the UI answers and every DAG is parsed (first and warm start), then a new DAG file's delay; " \
       "targets 30 s / 10 s"
TARGET_UP_S, TARGET_EDIT_S = 30.0, 10.0
PROBE = """import pendulum
from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def probe():
    task(lambda: None, task_id="noop")()


probe()
"""


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mwaa_local", *args], capture_output=True, text=True, cwd=paths.ROOT)
    if check and done.returncode != 0:
        raise SystemExit(f"error: ./mwaa-local {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[-400:]}")
    return done


def _start(api_port: int, cloud_port: int) -> tuple[float, float]:
    from mwaa_local.runtime import supervisor

    started = time.monotonic()
    _cli("up", "--detach", "--api-port", str(api_port), "--port", str(cloud_port))
    wall = time.monotonic() - started
    return wall, json.loads(supervisor.ready_file().read_text())["seconds"]


def _edit_delay() -> float:
    from mwaa_local.commands.trigger import client

    dag_id = f"bench_probe_{int(time.time())}"
    probe = paths.DAGS / f"{dag_id}.py"
    api = client()
    probe.write_text(PROBE.format(dag_id=dag_id))
    started = time.monotonic()
    try:
        while time.monotonic() - started < 120:
            if any(d["dag_id"] == dag_id for d in api.all_pages("/api/v2/dags", "dags")):
                return time.monotonic() - started
            time.sleep(0.25)
        return float("inf")
    finally:
        probe.unlink(missing_ok=True)


def run(argv: list[str]) -> int:
    from mwaa_local.runtime import supervisor

    parser = argparse.ArgumentParser(prog="mwaa-local bench up")
    parser.add_argument("--api-port", type=arguments.port, default=8080)
    parser.add_argument("--port", type=arguments.port, default=4566, help="local cloud port")
    options = parser.parse_args(argv)
    supervisor.preflight(options.api_port)
    results = []
    try:
        for label in ("first start", "warm start"):
            wall, ready = _start(options.api_port, options.port)
            results.append((label, wall, ready))
            print(f"{label:<12} ready (UI answers, every DAG parsed) in {ready:5.1f} s; `up --detach` returned "
                  f"after {wall:5.1f} s", flush=True)
            if label == "first start":
                _cli("down")
        edit = _edit_delay()
        print(f"new DAG file in dags/ -> listed by the REST API in {edit:5.1f} s (target < {TARGET_EDIT_S:g} s)")
    finally:
        _cli("down", check=False)
    warm = results[-1][2]
    print(f"warm start {warm:.1f} s (target < {TARGET_UP_S:g} s): {'met' if warm < TARGET_UP_S else 'MISSED'}; "
          f"edit {edit:.1f} s: {'met' if edit < TARGET_EDIT_S else 'MISSED'}")
    return 0 if warm < TARGET_UP_S and edit < TARGET_EDIT_S else 1
