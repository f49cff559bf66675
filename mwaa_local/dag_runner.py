"""Runs one DAG run locally with `dag.test()` in a child process that has the local Airflow environment
(same folders, secrets backend and settings as on MWAA; AWS pointed at the local cloud)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mwaa_local import paths
from mwaa_local.airflow_env import airflow_environment
from mwaa_local.bucket_sync import DeployedTree

_CHILD = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag_id, logical_date, conf = sys.argv[1], sys.argv[2] or None, json.loads(sys.argv[3])
bag = DagBag(sys.argv[4])
if dag_id not in bag.dags:
    print(json.dumps({"error": f"DAG {dag_id!r} not found; import errors: {bag.import_errors}"}), file=sys.stderr)
    sys.exit(3)
import pendulum
run = bag.dags[dag_id].test(logical_date=pendulum.parse(logical_date) if logical_date else None, run_conf=conf)
tis = {ti.task_id: getattr(ti.state, "value", str(ti.state)) for ti in run.get_task_instances()}
print("\n@@RESULT@@" + json.dumps({"state": getattr(run.state, "value", str(run.state)), "run_id": run.run_id, "tasks": tis}))
"""


@dataclass
class DagRunResult:
    dag_id: str
    state: str
    tasks: dict[str, str]
    log_file: Path
    run_id: str = ""  # Airflow's run_id of the DAG run ("" when the run did not happen)

    @property
    def ok(self) -> bool:
        return self.state == "success"


def default_airflow_home() -> Path:
    return paths.local_state() / "airflow"


def local_airflow_env(endpoint_url: str, home: Path | None = None, deployed: DeployedTree | None = None) -> dict[str, str]:
    """`deployed`: run the DAGs, include/ and plugins pulled from the MWAA bucket (bucket_sync.pull), as MWAA
    does; without it, the working tree."""
    home = home or default_airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    trees = {"dags": deployed.dags, "plugins": deployed.plugins, "include": deployed.include} if deployed else {}
    return {**os.environ, **airflow_environment(endpoint_url, home, f"sqlite:///{home / 'airflow.db'}", **trees)}


def migrate_metadata_db(env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stderr[-2000:]}")


def run_dag(dag_id: str, env: dict[str, str], logical_date: str | None = None, conf: dict | None = None,
            log_file: Path | None = None) -> DagRunResult:
    """One `dag.test()` run in a child process with `env` (see local_airflow_env), of the DAG files in env's
    AIRFLOW__CORE__DAGS_FOLDER; output goes to log_file."""
    runs = Path(env["AIRFLOW_HOME"]) / "runs"
    log_file = log_file or runs / f"{dag_id}-{(logical_date or 'now').replace(':', '')}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-c", _CHILD, dag_id, logical_date or "", json.dumps(conf or {}),
           env["AIRFLOW__CORE__DAGS_FOLDER"]]
    with open(log_file, "w") as log:
        result = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    marker = [line for line in log_file.read_text().splitlines() if line.startswith("@@RESULT@@")]
    if result.returncode != 0 or not marker:
        return DagRunResult(dag_id, "error", {}, log_file)
    outcome = json.loads(marker[-1].removeprefix("@@RESULT@@"))
    return DagRunResult(dag_id, outcome["state"], outcome["tasks"], log_file, outcome["run_id"])
