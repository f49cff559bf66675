"""ml_train end to end through the local cloud (Redshift, S3, SageMaker) and a real MLflow server: train and promote,
then a worse model (shuffled labels) that must stay challenger; MLflow down or failing during logging; bad input.
The tests share one warehouse and registry and run in order."""

from __future__ import annotations

import pytest

from tests.cloud.glue.airflow_context import FakeTaskInstance, context

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]  # several DAG runs; generous on a loaded machine
MODEL = "retail-repeat-purchase"


def versions(client) -> list:
    return sorted(client.search_model_versions(f"name = '{MODEL}'"), key=lambda v: int(v.version))


@pytest.fixture(scope="module")
def first(ml):
    """The first training of an empty registry: the session's ML stack is shared, and modules that ran before this
    one (batch scoring, deployment) may have left a champion."""
    client = ml.client()
    if client.search_registered_models(f"name = '{MODEL}'"):
        client.delete_registered_model(MODEL)
    result = ml.run()
    assert result.ok, result.log_file.read_text()[-4000:]
    return result


def test_first_training_is_logged_registered_and_becomes_champion(ml, first):
    import mlflow
    import pandas as pd

    assert first.tasks["publish_champion"] == "success"
    client = ml.client()
    [version] = versions(client)
    assert client.get_model_version_by_alias(MODEL, "champion").version == version.version
    assert version.tags["promotion.decision"] == "champion"
    assert version.tags["promotion.champion_value"] == "none"
    # lineage: the SageMaker job, its data in S3 and the Airflow run
    assert version.tags["sagemaker.training_job_name"].startswith("ml-train-")
    assert version.tags["data.train"].startswith("s3://") and version.tags["data.train"].endswith("/train/")
    assert version.tags["airflow.dag_id"] == "ml_train" and version.tags["airflow.run_id"]
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["validation_auc"] > 0.65, run.data.metrics  # the seeded history has a real signal
    assert {"n_estimators", "max_depth", "learning_rate"} <= set(run.data.params)
    assert run.data.tags["sagemaker.instance_type"] == "ml.m5.large" and "sagemaker_training_seconds" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/roc_curve.png", "evaluation/feature_importance.png", "evaluation/evaluation.json"} <= artifacts
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    frame = pd.DataFrame([[1.0, 60.0, 3.0, 150.0, 50.0, 80.0, 2.0, 2.0]],
                         columns=["recency_days", "tenure_days", "frequency", "monetary", "avg_order_value",
                                  "max_order_value", "avg_basket_items", "avg_basket_products"])
    assert set(model.predict(frame)) <= {0, 1}


def _stored_xcom(ml, run_id: str, task_id: str, key: str):
    """An XCom of the run as Airflow stored it (the metadata DB of the e2e runs)."""
    import json
    import sqlite3

    home = ml.stack.env()["AIRFLOW_HOME"]
    with sqlite3.connect(f"{home}/airflow.db") as db:
        rows = db.execute("SELECT value FROM xcom WHERE dag_id = 'ml_train' AND run_id = ? AND task_id = ? AND key = ?",
                          (run_id, task_id, key)).fetchall()
    assert len(rows) == 1, rows
    return json.loads(rows[0][0])


def test_the_mlflow_run_link_airflow_stored_opens_the_registered_run(ml, first):
    import urllib.request

    client = ml.client()
    [version] = [v for v in versions(client) if v.tags["airflow.run_id"] == first.run_id]
    run = client.get_run(version.run_id)
    expected = f"{ml.server.url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
    for task_id in ("log_training", "register_and_promote"):  # what the UI's "MLflow run" button opens
        assert _stored_xcom(ml, first.run_id, task_id, "_link_MlflowRunLink") == expected
    import base64

    login = base64.b64encode(f"{ml.server.username}:{ml.server.password}".encode()).decode()
    page = urllib.request.Request(expected.split("#")[0], headers={"Authorization": f"Basic {login}"})
    with urllib.request.urlopen(page, timeout=30) as answer:  # the UI (basic auth) serves that address
        assert answer.status == 200


def test_a_worse_model_stays_challenger_and_the_decision_is_recorded(ml, first):
    result = ml.run({"label_shuffle_seed": 3})
    assert result.ok, result.log_file.read_text()[-4000:]
    assert result.tasks["publish_champion"] == "skipped"  # no asset event: the champion did not change
    client = ml.client()
    champion, challenger = versions(client)
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion.version
    assert client.get_model_version_by_alias(MODEL, "challenger").version == challenger.version
    tags = challenger.tags
    assert tags["promotion.decision"] == "challenger" and tags["promotion.margin"] == "0.01"
    assert float(tags["promotion.candidate_value"]) < float(tags["promotion.champion_value"]) + 0.01
    assert tags["promotion.champion_value"] == champion.tags["promotion.candidate_value"]
    assert "does not beat" in tags["promotion.reason"]


def _log_operator(job_name: str):
    from mwaa_platform.operators.mlflow_registry import LogSageMakerTrainingOperator

    return LogSageMakerTrainingOperator(task_id="log_training", training_job_name=job_name,
                                        experiment_name="retail-repeat-purchase", aws_conn_id=None)


def test_mlflow_down_then_failing_mid_logging_then_a_retry_leaves_one_finished_run(ml, first, monkeypatch):
    from mwaa_platform.hooks.mlflow_hook import MlflowUnavailableError
    from mwaa_platform.operators.mlflow_registry import LogSageMakerTrainingOperator

    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", __import__("json").dumps(ml.server.connection()))
    job = ml.client().get_model_version(MODEL, "1").tags["sagemaker.training_job_name"]
    ti = FakeTaskInstance(dag_id="ml_train", task_id="log_training", run_id="manual__mlflow_down")
    ml.stop_mlflow()
    try:
        with pytest.raises(MlflowUnavailableError, match="could not reach MLflow at .* is the server up"):
            _log_operator(job).execute(context(ti))
    finally:
        ml.start_mlflow()
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", __import__("json").dumps(ml.server.connection()))

    def upload_dies(self, run_id, model_dir):
        raise ConnectionError("artifact upload interrupted")

    ti.retry()
    with monkeypatch.context() as patch:
        patch.setattr(LogSageMakerTrainingOperator, "_log_model", upload_dies)
        with pytest.raises(MlflowUnavailableError, match="artifact upload interrupted"):
            _log_operator(job).execute(context(ti))
    client = ml.client()
    query = "tags.`airflow.run_id` = 'manual__mlflow_down'"
    [failed] = client.search_runs([client.get_experiment_by_name("retail-repeat-purchase").experiment_id], query)
    assert failed.info.status == "FAILED"

    ti.retry()
    result = _log_operator(job).execute(context(ti))
    runs = client.search_runs([failed.info.experiment_id], query)
    assert [r.info.run_id for r in runs] == [failed.info.run_id] == [result["run_id"]]  # reused: no ghost run
    assert runs[0].info.status == "FINISHED" and runs[0].data.tags["airflow.try_number"] == "3"
    assert result["model_uri"] and result["metrics"]["validation_auc"] > 0
    assert not client.search_runs([failed.info.experiment_id], "attributes.status = 'RUNNING'")


def test_no_feature_rows_fails_at_the_check_and_registers_nothing(ml, first):
    before = len(versions(ml.client()))
    result = ml.run({"cutoff": "2025-06-01"})  # before the first order: no customer has history
    assert result.state == "failed" and result.tasks["check_features"] == "failed"
    assert result.tasks["train"] != "success"
    assert "no customers with orders before the cutoff 2025-06-01" in result.log_file.read_text()
    assert len(versions(ml.client())) == before


def test_one_label_class_fails_at_the_check_and_registers_nothing(ml, first):
    from tests.ml.warehouse import sql

    before = len(versions(ml.client()))
    redshift = ml.stack.client("redshift-data")
    window = "created_at > TIMESTAMP '2025-11-01 00:00:00' AND created_at <= TIMESTAMP '2025-12-01 00:00:00'"
    sql(redshift, f"CREATE TABLE analytics.held_back AS SELECT * FROM analytics.fact_orders WHERE {window}")
    sql(redshift, f"DELETE FROM analytics.fact_orders WHERE {window}")  # nobody buys in the label window
    try:
        result = ml.run({"cutoff": "2025-11-01"})
    finally:
        sql(redshift, "INSERT INTO analytics.fact_orders SELECT * FROM analytics.held_back")
        sql(redshift, "DROP TABLE analytics.held_back")
    assert result.state == "failed" and result.tasks["check_features"] == "failed"
    assert result.tasks["train"] != "success"
    assert "did not buy again within the label window after 2025-11-01: the label has one class only" in \
        result.log_file.read_text()
    assert len(versions(ml.client())) == before


def test_too_small_a_validation_set_fails_at_the_check_and_registers_nothing(ml, first):
    import re

    before = len(versions(ml.client()))
    result = ml.run({"cutoff": "2025-09-15"})  # two weeks into the history: few customers yet
    assert result.state == "failed" and result.tasks["check_features"] == "failed"
    assert result.tasks["train"] != "success"
    assert re.search(r"the validation split has \d+ rows, fewer than min_validation_rows=20: too small to score",
                     result.log_file.read_text())
    assert len(versions(ml.client())) == before


def _run_with_broken_connection(ml, break_it) -> tuple:
    """ml_train with the mlflow_default connection broken by `break_it(ml)`, restored afterwards: (result, log)."""
    before = len(versions(ml.client()))
    try:
        break_it(ml)
        result = ml.run()
    finally:
        ml.set_connection(ml.server.connection())
    assert result.state == "failed" and result.tasks["log_training"] == "failed"
    assert result.tasks["register_and_promote"] != "success"
    assert len(versions(ml.client())) == before  # nothing registered
    return result, result.log_file.read_text()


def test_missing_mlflow_connection_fails_logging_clearly_and_registers_nothing(ml, first):
    def delete(ml):
        ml.stack.client("secretsmanager").delete_secret(SecretId="airflow/connections/mlflow_default",
                                                         ForceDeleteWithoutRecovery=True)

    _, log = _run_with_broken_connection(ml, delete)
    assert "Airflow connection 'mlflow_default' is not defined: add it to the secrets backend " \
           "(airflow/connections/mlflow_default)" in log


def test_wrong_mlflow_password_fails_logging_clearly_and_registers_nothing(ml, first):
    _, log = _run_with_broken_connection(ml, lambda ml: ml.set_connection({**ml.server.connection(),
                                                                             "password": "wrong"}))
    assert "could not reach MLflow" in log and "check the login/password" in log
