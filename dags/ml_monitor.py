"""
### ML monitoring: today's customer features vs the champion's training baseline -> drift report -> retrain request

Daily. Finds the `champion` in the MLflow registry (none yet: a clear skip) and the baseline ml_train saved with it
(`monitoring/baseline.json` of its run); builds today's features with the same SQL as training (include/sql/features/)
and UNLOADs them; checks the inputs (every baseline column present, nulls, ranges), then measures drift per feature (PSI
on the baseline's quantile bins, KS, missing share) and of the champion's score distribution (the batch-score table
when it holds the champion's scores, else the champion scores the features); logs metrics and an HTML report with
per-feature plots to MLflow. Drift over the thresholds in platform.yaml (`monitoring`) publishes `retail_feature_drift`,
which schedules ml_train.

Run conf: `cutoff` (ISO date; default: today, but not after the day following the latest order).
"""

from datetime import timedelta

import pendulum
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.sdk import dag, task

from mwaa_platform.ml.assets import FEATURE_DRIFT
from mwaa_platform.settings import settings


@dag(
    dag_id="ml_monitor",
    description="Drift of today's features and scores vs the champion's training baseline; requests retraining",
    doc_md=__doc__,
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one monitor feature table at a time
    tags=["ml", "mlflow", "redshift", "monitoring"],
    default_args={"owner": "ml-platform", "retries": 2,
                  "retry_delay": timedelta(seconds=settings()["retry_delay_seconds"])},
)
def ml_monitor():
    config = settings()
    redshift, poll = config["redshift"], config["poll_interval_seconds"]

    @task(multiple_outputs=True)
    def plan(dag_run=None, run_id=None, data_interval_end=None) -> dict:
        from mwaa_platform.ml import monitor_tasks

        today = data_interval_end or pendulum.now("UTC")
        return monitor_tasks.plan(run_id, dag_run.conf or {}, today.naive() if hasattr(today, "naive") else today)

    the_plan = plan()
    build_features = RedshiftDataOperator(
        task_id="build_features", sql=the_plan["build_sql"], workgroup_name=redshift["workgroup"],
        database=redshift["database"], deferrable=True, poll_interval=poll)
    unload_features = RedshiftDataOperator(
        task_id="unload_features", sql=the_plan["unload_sql"], workgroup_name=redshift["workgroup"],
        database=redshift["database"], deferrable=True, poll_interval=poll)

    @task(multiple_outputs=False)
    def measure_drift(the_plan: dict, dag_run=None, run_id=None) -> dict:
        from mwaa_platform.ml import monitor_tasks

        return monitor_tasks.measure(the_plan, dag_run.dag_id, run_id)

    @task(multiple_outputs=False, outlets=[FEATURE_DRIFT])
    def publish_drift(summary: dict) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        if not summary["drifted"]:  # skipped: no asset event, no retraining
            raise AirflowSkipException(f"no drift of champion v{summary['champion.version']} at {summary['cutoff']} "
                                       f"(report: {summary['mlflow_run_url'] or summary['mlflow_run_id']})")
        return {k: summary[k] for k in ("reasons", "drifted_features", "champion.version", "cutoff", "mlflow_run_id")}

    measured = measure_drift(the_plan)
    build_features >> unload_features >> measured
    publish_drift(measured)


ml_monitor()
