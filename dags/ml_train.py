"""
### ML training: Redshift features -> S3 -> SageMaker training -> MLflow run, registry and champion gate

Runs when the ETL publishes `retail_warehouse`. Features per customer as of a cutoff (recency, frequency, monetary,
basket statistics; include/sql/features/) with label = a purchase in the `label_days` after it; train/validation split by
a hash of the customer id, unloaded to S3; a scikit-learn script-mode job (include/sagemaker/) trains; the job is logged
to MLflow (params, metrics, lineage, model, plots); the model version becomes `champion` only if it beats the current
champion by the configured margin (else `challenger`); a new champion publishes `retail_repeat_purchase_champion`.
Each run also saves the monitoring baseline (monitoring/baseline.json of its MLflow run) that ml_monitor compares
today's features with; drift over its thresholds publishes `retail_feature_drift`, which also schedules this DAG.

Run conf: `cutoff` (ISO date; default: latest order day minus label_days), `label_shuffle_seed` (>= 0: a negative
control that trains on permuted labels and must not become champion).
"""

from datetime import timedelta

import pendulum
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.sdk import dag, task

from mwaa_platform.assets import RETAIL_WAREHOUSE
from mwaa_platform.ml.assets import FEATURE_DRIFT, ML_CHAMPION
from mwaa_platform.operators.mlflow_registry import LogSageMakerTrainingOperator, RegisterAndPromoteOperator
from mwaa_platform.operators.sagemaker_training import RetrySafeSageMakerTrainingOperator
from mwaa_platform.settings import settings


@dag(
    dag_id="ml_train",
    description="Train the repeat-purchase model on SageMaker, track it in MLflow, promote only a better model",
    doc_md=__doc__,
    schedule=RETAIL_WAREHOUSE | FEATURE_DRIFT,  # new warehouse data, or drift seen by ml_monitor
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one feature table and one registration at a time (versions race otherwise)
    tags=["ml", "sagemaker", "mlflow", "redshift"],
    default_args={"owner": "ml-platform", "retries": 2,
                  "retry_delay": timedelta(seconds=settings()["retry_delay_seconds"])},
)
def ml_train():
    config = settings()
    redshift, mlflow_settings, ml = config["redshift"], config["mlflow"], config["ml"]
    poll = config["poll_interval_seconds"]

    @task(multiple_outputs=True)
    def plan(dag_run=None, run_id=None) -> dict:
        from mwaa_platform.ml import tasks

        return tasks.plan(dag_run.dag_id, run_id, dag_run.conf or {})

    the_plan = plan()
    build_features = RedshiftDataOperator(
        task_id="build_features", sql=the_plan["build_sql"], workgroup_name=redshift["workgroup"],
        database=redshift["database"], deferrable=True, poll_interval=poll)

    @task(multiple_outputs=False)
    def check_features(cutoff: str) -> dict:
        from mwaa_platform.ml import tasks

        return tasks.check_features(cutoff)

    unload_splits = RedshiftDataOperator(
        task_id="unload_splits", sql=the_plan["unload_sql"], workgroup_name=redshift["workgroup"],
        database=redshift["database"], deferrable=True, poll_interval=poll)
    train = RetrySafeSageMakerTrainingOperator(
        task_id="train", config=the_plan["training_config"], deferrable=True, check_interval=poll,
        print_log=False, wait_for_completion=True)
    log_training = LogSageMakerTrainingOperator(
        task_id="log_training", experiment_name=mlflow_settings["experiment"],
        training_job_name="{{ ti.xcom_pull(task_ids='train')['Training']['TrainingJobName'] }}",
        mlflow_conn_id=mlflow_settings["connection_id"])

    @task(multiple_outputs=False)
    def log_baseline(logged: dict, training_config: dict, cutoff: str) -> dict:
        from mwaa_platform.ml import monitor_tasks  # ml_monitor compares today's features with this baseline

        return monitor_tasks.log_baseline(logged, training_config, cutoff)

    baseline = log_baseline(log_training.output, the_plan["training_config"], the_plan["cutoff"])
    register = RegisterAndPromoteOperator(
        task_id="register_and_promote", logged=log_training.output,
        registered_model_name=mlflow_settings["registered_model"], metric=ml["validation_metric"],
        margin=ml["promotion_margin"], mlflow_conn_id=mlflow_settings["connection_id"])

    @task(multiple_outputs=False, outlets=[ML_CHAMPION])
    def publish_champion(decision: dict) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        if not decision["champion_changed"]:  # skipped: no asset event, the deploy DAGs keep the old champion
            raise AirflowSkipException(f"champion unchanged (version {decision['champion_version']}): "
                                       f"{decision['reason']}")
        return decision

    the_plan >> build_features >> check_features(the_plan["cutoff"]) >> unload_splits >> train >> log_training
    baseline >> register  # a version is registered (and may become champion) only with its baseline
    publish_champion(register.output)


ml_train()
