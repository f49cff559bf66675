"""Airflow plugin: registers the "MLflow run" operator extra link (mwaa_platform.ml.links) so the Airflow UI shows
it on ml_train's MLflow tasks. Airflow imports every .py file under plugins/ and registers each AirflowPlugin it
finds there: define no other AirflowPlugin and import this module nowhere, or the plugin registers twice."""

from airflow.plugins_manager import AirflowPlugin

from mwaa_platform.ml.links import MlflowRunLink


class MlflowLinksPlugin(AirflowPlugin):
    name = "mwaa_platform_mlflow_links"
    operator_extra_links = [MlflowRunLink()]
