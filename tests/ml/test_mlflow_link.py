"""The "MLflow run" operator extra link: registered by an AirflowPlugin found in plugins/ (so the api-server, which
never imports operator code, attaches it to ml_train's MLflow tasks), and its URL for a run. The e2e test checks the
URL Airflow stored for a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from mwaa_local import paths
from mwaa_platform.ml.links import RUN_URL_KEY, MlflowRunLink, run_url

_PROBE = """
import json
from airflow import plugins_manager
from airflow.serialization.serialized_objects import DagSerialization, OperatorSerialization
from airflow.dag_processing.dagbag import DagBag

links = [{"class": type(l).__module__ + "." + type(l).__name__, "name": l.name, "xcom_key": l.xcom_key,
          "operators": [o.__module__ + "." + o.__name__ for o in l.operators]}
         for l in plugins_manager.get_operator_extra_links()]
plugins = [p.name for p in plugins_manager._get_plugins()[0]]
errors = plugins_manager.get_import_errors()
bag = DagBag()
assert not bag.import_errors, bag.import_errors
dag = bag.dags["ml_train"]
OperatorSerialization._load_operator_extra_links = True
round_trip = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
task_links = {t.task_id: sorted(round_trip.get_task(t.task_id).extra_links) for t in dag.tasks}
print("@@" + json.dumps({"links": links, "plugins": plugins, "errors": errors, "task_links": task_links}))
"""


def _probe() -> dict:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.PLUGINS),
               "AIRFLOW__CORE__DAGS_FOLDER": str(paths.DAGS), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db", "PLATFORM_ENV": "local",
               "MWAA_INCLUDE_DIR": str(paths.INCLUDE), "PYTHONPATH": f"{paths.ROOT}:{paths.PLUGINS}"}
        done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(next(line for line in done.stdout.splitlines() if line.startswith("@@"))[2:])


def test_the_plugin_in_plugins_folder_registers_the_link_for_the_mlflow_operators():
    probe = _probe()
    assert probe["plugins"].count("mwaa_platform_mlflow_links") == 1  # found once: no double registration
    assert not probe["errors"], probe["errors"]
    [link] = [entry for entry in probe["links"] if entry["name"] == "MLflow run"]
    assert link["class"].endswith("MlflowRunLink") and link["xcom_key"] == "_link_MlflowRunLink"
    assert link["operators"] == ["mwaa_platform.operators.mlflow_registry.LogSageMakerTrainingOperator",
                                 "mwaa_platform.operators.mlflow_registry.RegisterAndPromoteOperator"]
    # what the api-server sees after deserializing ml_train: the button on the two MLflow tasks only
    with_link = {task for task, names in probe["task_links"].items() if "MLflow run" in names}
    assert with_link == {"log_training", "register_and_promote"}


def test_the_url_opens_the_run_in_the_mlflow_ui():
    assert run_url("http://127.0.0.1:5000/", "3", "ab12") == "http://127.0.0.1:5000/#/experiments/3/runs/ab12"
    assert run_url(None, "3", "ab12") == ""  # SageMaker-managed MLflow: no browsable UI URL


def test_get_link_returns_what_the_task_pushed(monkeypatch):
    from airflow.providers.common.compat import sdk

    seen = {}

    def get_value(*, key, ti_key):
        seen.update(key=key, ti_key=ti_key)
        return "http://127.0.0.1:5000/#/experiments/1/runs/r1"

    monkeypatch.setattr(sdk.XCom, "get_value", staticmethod(get_value))
    assert MlflowRunLink().get_link(None, ti_key="key-of-the-try") == "http://127.0.0.1:5000/#/experiments/1/runs/r1"
    assert seen == {"key": RUN_URL_KEY, "ti_key": "key-of-the-try"}
