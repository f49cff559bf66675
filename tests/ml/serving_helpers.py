"""Shared by the batch scoring and deployment end-to-end tests: a champion in the registry, DAG runs, score reads."""

from __future__ import annotations

from tests.ml import warehouse

MODEL = "retail-repeat-purchase"
SCORE_DATE = "2026-05-01"  # the day after the synthetic history (tests/ml/conftest.py HISTORY) ends
TABLE = "ml.customer_scores"


def champion(ml):
    """The champion's model version, training one with ml_train when the registry has none."""
    from mlflow.exceptions import MlflowException

    client = ml.client()
    try:
        return client.get_model_version_by_alias(MODEL, "champion")
    except MlflowException:
        result = ml.run()
        assert result.ok, result.log_file.read_text()[-4000:]
        return client.get_model_version_by_alias(MODEL, "champion")


def run(ml, dag_id: str, conf: dict | None = None):
    from mwaa_local import dag_runner

    result = dag_runner.run_dag(dag_id, ml.stack.env(), conf=conf)
    print(f"{dag_id} {conf}: {result.state} {result.tasks} log {result.log_file}")
    return result


def scores(ml, version, day: str = SCORE_DATE) -> list[dict]:
    """The batch scores of a version and day ([] before the first scoring run made the table)."""
    tables = warehouse.sql(ml.stack.client("redshift-data"), "SELECT COUNT(*) AS n FROM information_schema.tables "
                                                              "WHERE table_schema = 'ml' AND table_name = 'customer_scores'")
    if not int(tables[0]["n"]):
        return []
    return warehouse.sql(ml.stack.client("redshift-data"),
                         f"SELECT customer_id, score, airflow_run_id FROM {TABLE} WHERE model_name = '{MODEL}' AND "
                         f"model_version = {int(version)} AND score_date = DATE '{day}' ORDER BY customer_id")


def customers_before(ml, day: str = SCORE_DATE) -> int:
    rows = warehouse.sql(ml.stack.client("redshift-data"),
                         "SELECT COUNT(DISTINCT customer_id) AS n FROM analytics.fact_orders "
                         f"WHERE created_at < TIMESTAMP '{day} 00:00:00' AND status <> 'cancelled'")
    return int(rows[0]["n"])
