"""
### ML deployment: the MLflow champion -> SageMaker endpoint (create or update in place), smoke test, rollback

Runs whenever ml_train publishes a new champion (`retail_repeat_purchase_champion`). The version behind the registry
alias `champion` (none yet = skipped) becomes a SageMaker model (the same one ml_batch_score builds) and a new endpoint
config; the endpoint is created, or updated in place (SageMaker switches traffic only once the new config answers, so
no request is dropped). Smoke test: InvokeEndpoint on a fixed sample of customers must return the batch scores of the
same customers and version (ml_batch_score's, waited for; tolerance `scoring.smoke_tolerance`); otherwise the
endpoint is rolled back to its previous config and the run fails. The endpoint, its config and the model version are
tagged on the MLflow model version (`deployment.*`).

Run conf: `endpoint_name` (default: `scoring.endpoint_name` in include/config/platform.yaml).
"""

from datetime import timedelta

import pendulum
from airflow.sdk import PokeReturnValue, dag, task

from mwaa_platform.ml.assets import ML_CHAMPION
from mwaa_platform.operators.ml_serving import (
    EndpointSmokeTestOperator,
    EnsureSageMakerModelOperator,
    ResolveChampionOperator,
    ServingEndpointOperator,
)
from mwaa_platform.settings import settings


@dag(
    dag_id="ml_deploy",
    description="Deploy the MLflow champion to a SageMaker endpoint with a smoke test and rollback",
    doc_md=__doc__,
    schedule=[ML_CHAMPION],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one endpoint update at a time
    tags=["ml", "sagemaker", "mlflow"],
    default_args={"owner": "ml-platform", "retries": 2,
                  "retry_delay": timedelta(seconds=settings()["retry_delay_seconds"])},
)
def ml_deploy():
    config = settings()
    ml, serving = config["ml"], config["scoring"]
    poll = config["poll_interval_seconds"]

    champion = ResolveChampionOperator.from_settings(config)

    @task(multiple_outputs=True)
    def plan(champion: dict, dag_run=None) -> dict:
        from mwaa_platform.ml import serving_tasks

        return serving_tasks.plan_deploy(champion, dag_run.conf or {})

    the_plan = plan(champion.output)
    create_model = EnsureSageMakerModelOperator(task_id="create_model", config=champion.output["model_config"])

    @task
    def create_endpoint_config(request: dict) -> str:
        from mwaa_platform.ml import serving_tasks

        return serving_tasks.ensure_endpoint_config(request)

    @task.sensor(poke_interval=poll, timeout=serving["scores_wait_timeout_s"], mode="poke")
    def wait_for_batch_scores(champion: dict) -> PokeReturnValue:
        from mwaa_platform.ml import serving_tasks

        day = serving_tasks.batch_scores_date(champion)
        if day is None:
            print(f"no batch scores of version {champion['champion']['version']} yet (ml_batch_score runs on the same "
                  "asset): waiting; they are the smoke test's reference")
        return PokeReturnValue(is_done=day is not None, xcom_value=day)

    scores_date = wait_for_batch_scores(champion.output)
    deploy = ServingEndpointOperator(task_id="deploy", config=the_plan["endpoint"],
                                     previous_config=the_plan["previous_config"], check_interval=poll)
    smoke_test = EndpointSmokeTestOperator(
        task_id="smoke_test", plan=the_plan, champion=champion.output, score_date=scores_date,
        scores_table=serving["scores_table"], sample_size=serving["smoke_sample_size"],
        tolerance=serving["smoke_tolerance"], features={k: ml[k] for k in ("label_days", "validation_percent")},
        mlflow_conn_id=config["mlflow"]["connection_id"], waiter_delay=poll)
    # A failed comparison rolls back and raises AirflowFailException (no retry would test the previous config);
    # errors before the comparison (Redshift, MLflow) retry as any task does.

    the_plan >> create_model >> create_endpoint_config(the_plan["endpoint_config_request"]) >> scores_date
    scores_date >> deploy >> smoke_test


ml_deploy()
