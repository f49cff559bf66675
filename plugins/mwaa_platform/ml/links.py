"""The "MLflow run" button on the MLflow tasks of ml_train: the URL of the run a task logged to or registered from.

The task pushes the URL to XCom (RUN_URL_KEY) as soon as it knows the run; at the end of the try Airflow 3's task
runner calls get_link and stores the result under the link's xcom_key, which the UI reads. The link is also
registered by an AirflowPlugin (mwaa_platform/mlflow_links_plugin.py), so the api-server, which never imports
operator code, knows which operators carry it.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

RUN_URL_KEY = "mlflow_run_url"


def run_url(ui_url: str | None, experiment_id: str, run_id: str) -> str:
    """Where the MLflow UI shows one run ("" when the server has no browsable UI, as a SageMaker-managed one)."""
    if not ui_url:
        return ""
    return f"{ui_url.rstrip('/')}/#/experiments/{quote(str(experiment_id))}/runs/{quote(str(run_id))}"


class MlflowRunLink(BaseOperatorLink):
    name = "MLflow run"

    @property
    def operators(self) -> list[type]:
        """The operators the plugin attaches this link to (imported late: those modules import this one)."""
        from mwaa_platform.operators.mlflow_registry import LogSageMakerTrainingOperator, RegisterAndPromoteOperator

        return [LogSageMakerTrainingOperator, RegisterAndPromoteOperator]

    def get_link(self, operator, *, ti_key) -> str:
        return XCom.get_value(key=RUN_URL_KEY, ti_key=ti_key) or ""
