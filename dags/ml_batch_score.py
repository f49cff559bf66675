"""
### ML batch scoring: the MLflow champion -> SageMaker model -> transform job over Redshift features -> Redshift scores

Daily, and whenever ml_train publishes a new champion (`retail_repeat_purchase_champion`). The version behind the
registry alias `champion` (never "latest"; none yet = skipped) becomes a SageMaker model from that version's own
model.tar.gz with the inference script include/sagemaker/serve_repeat_purchase.py; the features of every customer as
of the score date (the training feature SQL, orders strictly before the date) are UNLOADed to S3 and scored by a batch
transform job; the scores replace the (model, version, score date) slice of `ml.customer_scores` in one transaction,
so a re-run never duplicates.

Run conf: `score_date` (YYYY-MM-DD; default: the day the run is due).
"""

from datetime import timedelta

import pendulum
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTransformOperator
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from mwaa_platform.ml.assets import ML_CHAMPION
from mwaa_platform.operators.ml_serving import EnsureSageMakerModelOperator, ResolveChampionOperator
from mwaa_platform.settings import settings


@dag(
    dag_id="ml_batch_score",
    description="Score every customer with the MLflow champion on SageMaker batch transform into Redshift",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"), assets=ML_CHAMPION),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one load of a score slice at a time
    tags=["ml", "sagemaker", "mlflow", "redshift"],
    default_args={"owner": "ml-platform", "retries": 2,
                  "retry_delay": timedelta(seconds=settings()["retry_delay_seconds"])},
)
def ml_batch_score():
    config = settings()
    redshift = config["redshift"]
    poll = config["poll_interval_seconds"]

    champion = ResolveChampionOperator.from_settings(config)

    @task(multiple_outputs=True)
    def plan(champion: dict, dag_run=None, run_id=None) -> dict:
        from mwaa_platform.ml import serving_tasks

        return serving_tasks.plan_scoring(champion, dag_run.conf or {}, dag_run.run_after, run_id)

    the_plan = plan(champion.output)
    create_model = EnsureSageMakerModelOperator(task_id="create_model", config=champion.output["model_config"])
    unload_features = RedshiftDataOperator(
        task_id="unload_features", sql=the_plan["unload_sql"], workgroup_name=redshift["workgroup"],
        database=redshift["database"], deferrable=True, poll_interval=poll)
    transform = SageMakerTransformOperator(
        task_id="transform", config=the_plan["transform_config"], deferrable=True, check_interval=poll,
        check_if_model_exists=False)
    load_scores = RedshiftDataOperator(  # a list runs as one batch: one transaction
        task_id="load_scores", sql=the_plan["load_sql"], workgroup_name=redshift["workgroup"],
        database=redshift["database"], deferrable=True, poll_interval=poll)

    @task(multiple_outputs=False)
    def verify_scores(plan: dict) -> dict:
        from mwaa_platform.ml import serving_tasks

        return serving_tasks.verify_scores(plan)

    the_plan >> create_model >> unload_features >> transform >> load_scores >> verify_scores(the_plan)


ml_batch_score()
