"""Operators that serve the registered champion (ml_batch_score, ml_deploy); the provider's SageMaker operators do the
SageMaker calls, these add what it lacks:

- ResolveChampionOperator: the `champion` alias -> its version and model.tar.gz (skip when there is none; a clear
  failure when the artifact is gone), the inference code in S3 and the CreateModel request.
- EnsureSageMakerModelOperator: SageMakerModelOperator that reuses the model a retry or the other DAG made.
- ServingEndpointOperator: SageMakerEndpointOperator (create, or update in place) that then checks the endpoint
  really serves the new config, with an error that says what to fix.
- EndpointSmokeTestOperator: InvokeEndpoint on a fixed sample vs the batch scores of the same customers and version;
  on a mismatch it rolls the endpoint back to its previous config and fails; the outcome is tagged on the MLflow
  model version.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerEndpointOperator, SageMakerModelOperator
from airflow.sdk import BaseOperator


def _fail(message: str):
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(message)


def _mlflow_client(conn_id: str):
    from mwaa_platform.hooks.mlflow_hook import MlflowHook
    from mwaa_platform.ml.mlflow_target import MlflowConnectionError

    hook = MlflowHook(conn_id)
    try:
        return hook, hook.get_conn()
    except MlflowConnectionError as exc:
        raise _fail(str(exc)) from exc


class ResolveChampionOperator(BaseOperator):
    template_fields: Sequence[str] = ("registered_model",)

    def __init__(self, *, registered_model: str, image: str, role: str, code_bucket: str, code_prefix: str,
                 mlflow_conn_id: str = "mlflow_default", aws_conn_id: str | None = "aws_default", **kwargs):
        super().__init__(multiple_outputs=True, **kwargs)  # downstream tasks read ["model_config"] etc.
        self.registered_model, self.image, self.role = registered_model, image, role
        self.code_bucket, self.code_prefix = code_bucket, code_prefix
        self.mlflow_conn_id, self.aws_conn_id = mlflow_conn_id, aws_conn_id

    @classmethod
    def from_settings(cls, config, task_id: str = "champion", **kwargs) -> ResolveChampionOperator:
        """The champion as the serving DAGs resolve it: the registry, image, role and code location of platform.yaml
        (`config` is mwaa_platform.settings.settings(), read by the DAG file)."""
        ml = config["ml"]
        return cls(task_id=task_id, registered_model=config["mlflow"]["registered_model"], image=ml["training_image"],
                   role=ml["sagemaker_role"], code_bucket=ml["bucket"], code_prefix=config["scoring"]["prefix"],
                   mlflow_conn_id=config["mlflow"]["connection_id"], **kwargs)

    def execute(self, context) -> dict:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.sdk.exceptions import AirflowSkipException

        from mwaa_platform.ml import champion, scoring, training

        hook, client = _mlflow_client(self.mlflow_conn_id)
        try:
            with hook.errors("read the champion from"):
                found = champion.resolve(client, self.registered_model)
        except champion.NoChampion as exc:
            raise AirflowSkipException(str(exc)) from exc
        except champion.ChampionError as exc:
            raise _fail(str(exc)) from exc
        s3 = S3Hook(aws_conn_id=self.aws_conn_id)
        try:
            champion.check_artifact(s3.get_conn(), found)
        except champion.ChampionError as exc:
            raise _fail(str(exc)) from exc
        body, digest = training.source_bundle()  # include/sagemaker/, content-addressed like ml_train's
        key = f"{self.code_prefix}/code/{digest}/sourcedir.tar.gz"
        s3.load_bytes(body, key, self.code_bucket, replace=True)
        source_uri = f"s3://{self.code_bucket}/{key}"
        name = scoring.model_name(found, source_uri)
        self.log.info("champion: %s version %s, artifact %s -> SageMaker model %s", found.registered_model,
                      found.version, found.artifact_uri, name)
        return {"champion": found.as_dict(), "sagemaker_model": name,
                "model_config": scoring.model_config(name, found, self.image, self.role, source_uri)}


class EnsureSageMakerModelOperator(SageMakerModelOperator):
    """CreateModel, unless the model exists with the same artifact (a retry, or the other DAG built it)."""

    def execute(self, context) -> dict:
        from airflow.providers.amazon.aws.utils import trim_none_values
        from botocore.exceptions import ClientError

        name = self.config["ModelName"]
        try:
            existing = self.hook.describe_model(name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ValidationException":
                raise
            return super().execute(context)
        wanted = self.config["PrimaryContainer"]["ModelDataUrl"]
        if existing.get("PrimaryContainer", {}).get("ModelDataUrl") != wanted:
            raise _fail(f"SageMaker model {name} exists with another artifact "
                        f"({existing.get('PrimaryContainer', {}).get('ModelDataUrl')}, wanted {wanted}): delete it "
                        "(aws sagemaker delete-model) and re-run")
        self.log.info("SageMaker model %s exists with the same artifact: reusing it", name)
        return {"Model": trim_none_values({"ModelName": name, "ModelArn": existing.get("ModelArn")})}


class ServingEndpointOperator(SageMakerEndpointOperator):
    """Creates the endpoint, or updates it in place (the provider falls back to UpdateEndpoint when it exists), then
    fails clearly unless it is InService on the new config (a failed update leaves the previous config serving)."""

    template_fields: Sequence[str] = (*SageMakerEndpointOperator.template_fields, "previous_config")

    def __init__(self, *, previous_config: str | None = None, **kwargs):
        super().__init__(operation="create", deferrable=False, **kwargs)
        self.previous_config = previous_config

    def execute(self, context) -> dict:
        from mwaa_platform.ml import deployment

        endpoint = self.config["EndpointName"]
        wanted = self.config["EndpointConfigName"]
        if self.previous_config == wanted:  # a re-run for the same champion: nothing to switch
            self.log.info("endpoint %s already serves %s", endpoint, wanted)
            return {"Endpoint": self.hook.describe_endpoint(endpoint)}
        try:
            result = super().execute(context)
        except Exception as exc:  # noqa: BLE001 - the waiter's error hides the reason; the endpoint's status has it
            described = self.hook.describe_endpoint(endpoint)
            try:
                deployment.check_serving(endpoint, described, wanted, self.previous_config or None)
            except deployment.DeploymentError as clear:
                raise _fail(str(clear)) from exc
            raise
        try:
            deployment.check_serving(endpoint, result["Endpoint"], wanted, self.previous_config or None)
        except deployment.DeploymentError as exc:
            raise _fail(str(exc)) from exc
        self.log.info("endpoint %s serves %s (was %s)", endpoint, wanted, self.previous_config or "nothing")
        return result


class EndpointSmokeTestOperator(BaseOperator):
    template_fields: Sequence[str] = ("plan", "champion", "score_date")

    def __init__(self, *, plan: dict, champion: dict, score_date: str, scores_table: str, sample_size: int,
                 tolerance: float, features: dict, mlflow_conn_id: str = "mlflow_default",
                 aws_conn_id: str | None = "aws_default", waiter_delay: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.plan, self.champion, self.score_date, self.scores_table = plan, champion, score_date, scores_table
        self.sample_size, self.tolerance, self.features = int(sample_size), float(tolerance), features
        self.mlflow_conn_id, self.aws_conn_id, self.waiter_delay = mlflow_conn_id, aws_conn_id, waiter_delay

    def execute(self, context) -> dict:
        import datetime as dt

        from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

        from mwaa_platform.ml import deployment, scoring
        from mwaa_platform.ml.champion import Champion
        from mwaa_platform.ml.serving_tasks import _query

        champion = Champion(**self.champion["champion"])
        endpoint, config = self.plan["endpoint_name"], self.plan["endpoint_config"]
        batch = {int(c): float(s) for c, s in _query(
            deployment.sample_sql(self.scores_table, champion, self.score_date, self.sample_size), self.aws_conn_id)}
        rows = _query(scoring.features_for_customers_sql(
            dt.date.fromisoformat(self.score_date), sorted(batch), self.features["label_days"],
            self.features["validation_percent"]), self.aws_conn_id) if batch else []
        hook = SageMakerHook(aws_conn_id=self.aws_conn_id)
        try:
            from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

            runtime = AwsBaseHook(aws_conn_id=self.aws_conn_id, client_type="sagemaker-runtime").conn
            response = runtime.invoke_endpoint(
                EndpointName=endpoint, ContentType="text/csv", Accept="text/csv",
                Body=deployment.csv_body(rows).encode())
            online = deployment.parse_scores(response["Body"].read().decode())
            result = deployment.compare(batch, online, self.tolerance)
        except Exception as exc:  # noqa: BLE001 - any failure to answer is a failed smoke test
            result = deployment.SmokeResult(checked=len(batch), tolerance=self.tolerance,
                                            mismatches=[f"InvokeEndpoint failed: {str(exc).splitlines()[0][:300]}"])
        model = self.champion["sagemaker_model"]
        if result.ok:
            self.log.info("smoke test of %s on %s passed: %s", endpoint, config, result.summary())
            self._tag(champion, deployment.deployment_tags(endpoint, config, model, champion, "serving",
                                                           result.summary()))
            return {"endpoint_name": endpoint, "endpoint_config": config, "model_version": champion.version,
                    "checked": result.checked, "max_difference": result.max_difference}
        previous = self.plan.get("previous_config")
        restored = ("the endpoint served this config before the run already, so it was left as it is; check the "
                    "batch scores and the features" if previous == config else self._roll_back(hook, endpoint, previous))
        message = (f"smoke test of endpoint {endpoint} on {config} ({champion.registered_model} version "
                   f"{champion.version}) failed against the batch scores of {self.score_date}: {result.summary()}; "
                   f"{restored}")
        self._tag(champion, deployment.deployment_tags(endpoint, config, model, champion, "rolled_back", message))
        raise _fail(message)

    def _roll_back(self, hook, endpoint: str, previous: str | None) -> str:
        if not previous:  # nothing served before: a wrong model must not serve either
            hook.conn.delete_endpoint(EndpointName=endpoint)
            return "the endpoint was new and has been deleted; fix the model or its inference script and re-run"
        hook.conn.update_endpoint(EndpointName=endpoint, EndpointConfigName=previous)
        hook.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint, WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": 1800})
        serving = hook.conn.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        return (f"rolled back: the endpoint serves its previous config {serving} again; fix the model, its inference "
                "script or the batch scores and re-run")

    def _tag(self, champion, tags: dict) -> None:
        hook, client = _mlflow_client(self.mlflow_conn_id)
        with hook.errors("tag the deployment on"):
            for key, value in tags.items():
                client.set_model_version_tag(champion.registered_model, str(champion.version), key, value)
