"""MLflow operators no provider offers (Astronomer's provider is unmaintained and fails on Airflow 3):

- LogSageMakerTrainingOperator: a finished SageMaker training job -> one MLflow run (hyperparameters, final
  metrics, job identity, data lineage, Airflow tags, the model as an MLflow model, evaluation plots). Idempotent: a
  retry finds the run an earlier try made (by tags) instead of creating a ghost; a failure marks the run FAILED.
- RegisterAndPromoteOperator: registers the run's model and sets alias `champion` only when it beats the current
  champion by the margin (else `challenger`), recording the decision and both numbers on the version.
The "MLflow run" button on these tasks is mwaa_platform.ml.links.MlflowRunLink.
"""

from __future__ import annotations

import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from airflow.sdk import BaseOperator

from mwaa_platform.ml.links import RUN_URL_KEY, MlflowRunLink, run_url


def _fail(message: str):
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(message)


def _extract(s3, uri: str, into: Path) -> Path:
    from mwaa_platform.ml.tracking import split_s3

    bucket, key = split_s3(uri)
    archive = into / Path(key).name
    s3.download_file(bucket, key, str(archive))
    target = into / archive.name.removesuffix(".tar.gz")
    target.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")  # no absolute paths or links out of the folder
    return target


class LogSageMakerTrainingOperator(BaseOperator):
    template_fields: Sequence[str] = ("training_job_name", "experiment_name")
    operator_extra_links = (MlflowRunLink(),)

    def __init__(self, *, training_job_name: str, experiment_name: str, mlflow_conn_id: str = "mlflow_default",
                 aws_conn_id: str | None = "aws_default", **kwargs):
        super().__init__(**kwargs)
        self.training_job_name, self.experiment_name = training_job_name, experiment_name
        self.mlflow_conn_id, self.aws_conn_id = mlflow_conn_id, aws_conn_id

    def execute(self, context):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

        from mwaa_platform.hooks.mlflow_hook import MlflowHook
        from mwaa_platform.ml import tracking
        from mwaa_platform.ml.mlflow_target import MlflowConnectionError

        job = SageMakerHook(aws_conn_id=self.aws_conn_id).describe_training_job(self.training_job_name)
        if job["TrainingJobStatus"] != "Completed":
            raise _fail(f"training job {self.training_job_name} is {job['TrainingJobStatus']}, not Completed: "
                        f"{job.get('FailureReason', 'no reason given')}")
        hook = MlflowHook(self.mlflow_conn_id)
        try:
            client = hook.get_conn()
        except MlflowConnectionError as exc:  # a wrong connection will not fix itself on a retry
            raise _fail(str(exc)) from exc
        ti = context["ti"]
        with hook.errors("log the training job to"):
            experiment_id = self._experiment(client)
            found = client.search_runs([experiment_id], tracking.run_filter(ti.dag_id, ti.run_id, ti.task_id,
                                                                            self.training_job_name), max_results=5)
            tags = {**tracking.airflow_tags(ti.dag_id, ti.run_id, ti.task_id, ti.try_number), **tracking.job_tags(job)}
            if found:
                run = found[0]
                self.log.info("reusing MLflow run %s made by an earlier try (status %s)", run.info.run_id,
                              run.info.status)
                client.update_run(run.info.run_id, status="RUNNING")
            else:
                run = client.create_run(experiment_id, tags=tags, run_name=self.training_job_name)
        run_id = run.info.run_id
        url = run_url(hook.target().ui_url, experiment_id, run_id)
        ti.xcom_push(key=RUN_URL_KEY, value=url)
        try:
            with hook.errors("log the training job to"):
                model_uri = self._log(client, run_id, job, tags, S3Hook(aws_conn_id=self.aws_conn_id).get_conn())
                client.set_terminated(run_id, "FINISHED")
        except BaseException:
            try:  # best effort: if MLflow is down this fails too, and the retry finds the run and finishes it
                client.set_terminated(run_id, "FAILED")
            except Exception:  # noqa: BLE001
                self.log.warning("could not mark MLflow run %s FAILED; the next try will reuse it", run_id)
            raise
        metrics = client.get_run(run_id).data.metrics
        self.log.info("MLflow run %s: %s", url or run_id, metrics)
        return {"run_id": run_id, "experiment_id": experiment_id, "model_uri": model_uri, "run_url": url,
                "metrics": metrics, "training_job_name": self.training_job_name}

    def _experiment(self, client) -> str:
        from mlflow.exceptions import MlflowException

        existing = client.get_experiment_by_name(self.experiment_name)
        if existing:
            return existing.experiment_id
        try:
            return client.create_experiment(self.experiment_name)
        except MlflowException:  # created by a parallel task meanwhile
            return client.get_experiment_by_name(self.experiment_name).experiment_id

    def _log(self, client, run_id: str, job: dict, tags: dict, s3) -> str:
        from mlflow.entities import Metric, Param, RunTag

        from mwaa_platform.ml import tracking

        run = client.get_run(run_id)
        params = [Param(k, v) for k, v in tracking.hyperparameters(job).items() if k not in run.data.params]
        metrics = [Metric(k, v, 0, 0) for k, v in tracking.final_metrics(job).items() if k not in run.data.metrics]
        client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag(k, v) for k, v in tags.items()])
        model_uri = run.data.tags.get("platform.model_uri")
        with tempfile.TemporaryDirectory() as tmp:
            evaluation = _extract(s3, tracking.output_tar_uri(job), Path(tmp))
            client.log_artifacts(run_id, str(evaluation), "evaluation")
            if not model_uri:  # logged by an earlier try: a second LoggedModel would be a ghost
                model_dir = _extract(s3, job["ModelArtifacts"]["S3ModelArtifacts"], Path(tmp))
                model_uri = self._log_model(run_id, model_dir)
                client.set_tag(run_id, "platform.model_uri", model_uri)
        return model_uri

    def _log_model(self, run_id: str, model_dir: Path) -> str:
        import json

        import joblib
        import mlflow.sklearn
        import pandas as pd
        from mlflow.models import infer_signature

        model = joblib.load(model_dir / "model.joblib")
        features = json.loads((model_dir / "feature_names.json").read_text())
        example = pd.DataFrame([[0.0] * len(features)], columns=features)
        signature = infer_signature(example, model.predict(example))
        # run_id (not start_run): start_run's exit would mark the run FINISHED; the caller decides the status.
        info = mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=example, run_id=run_id,
                                        serialization_format="cloudpickle")  # skops refuses sklearn's tree types
        return info.model_uri


class RegisterAndPromoteOperator(BaseOperator):
    template_fields: Sequence[str] = ("logged", "registered_model_name")
    operator_extra_links = (MlflowRunLink(),)

    def __init__(self, *, logged, registered_model_name: str, metric: str, margin: float,
                 mlflow_conn_id: str = "mlflow_default", **kwargs):
        super().__init__(**kwargs)
        self.logged, self.registered_model_name = logged, registered_model_name
        self.metric, self.margin, self.mlflow_conn_id = metric, float(margin), mlflow_conn_id

    def execute(self, context):
        from mlflow.exceptions import MlflowException

        from mwaa_platform.hooks.mlflow_hook import MlflowHook
        from mwaa_platform.ml import promotion
        from mwaa_platform.ml.mlflow_target import MlflowConnectionError

        hook = MlflowHook(self.mlflow_conn_id)
        try:
            client = hook.get_conn()
        except MlflowConnectionError as exc:
            raise _fail(str(exc)) from exc
        run_id, name = self.logged["run_id"], self.registered_model_name
        context["ti"].xcom_push(key=RUN_URL_KEY, value=self.logged.get("run_url", ""))
        with hook.errors("register the model in"):
            run = client.get_run(run_id)
            candidate = run.data.metrics.get(self.metric)
            if candidate is None:
                raise _fail(f"MLflow run {run_id} has no metric {self.metric!r} (it has {sorted(run.data.metrics)}): "
                            "the training job's MetricDefinitions must produce it; nothing was registered")
            try:
                client.create_registered_model(name, description="Will a customer buy again? (ml_train)")
            except MlflowException as exc:
                if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
                    raise
            existing = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
            lineage = {k: v for k, v in run.data.tags.items() if k.startswith(("sagemaker.", "data.", "airflow."))}
            source = self.logged["model_uri"]
            model_id = source.removeprefix("models:/") if source.startswith("models:/m-") else None
            version = existing[0] if existing else client.create_model_version(
                name, source=source, run_id=run_id, tags=lineage, model_id=model_id)
            if version.tags.get("promotion.decision"):  # decided by an earlier try
                self.log.info("version %s was already decided: %s", version.version, version.tags)
                return self._result(client, name, version.version, version.tags)
            champion = self._champion(client, name)
            decision = promotion.decide(candidate, champion[1] if champion else None, self.margin)
            for key, value in decision.tags(self.metric).items():
                client.set_model_version_tag(name, version.version, key, value)
            if champion:
                client.set_model_version_tag(name, version.version, "promotion.champion_version", champion[0])
            client.set_registered_model_alias(name, decision.alias, version.version)
        self.log.info("%s version %s -> %s: %s", name, version.version, decision.alias, decision.reason)
        return self._result(client, name, version.version,
                            {**decision.tags(self.metric), "promotion.champion_version": champion[0] if champion else ""})

    def _champion(self, client, name: str) -> tuple[str, float] | None:
        from mlflow.exceptions import MlflowException

        try:
            version = client.get_model_version_by_alias(name, "champion")
        except MlflowException as exc:
            if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
                return None
            raise
        value = client.get_run(version.run_id).data.metrics.get(self.metric)
        if value is None:
            raise _fail(f"the champion (version {version.version}) has no metric {self.metric!r}; fix its run or "
                        "remove its alias")
        return version.version, value

    def _result(self, client, name: str, version: str, tags: dict) -> dict:
        champion = client.get_model_version_by_alias(name, "champion")
        return {"registered_model": name, "version": str(version), "decision": tags.get("promotion.decision"),
                "reason": tags.get("promotion.reason"), "candidate_value": tags.get("promotion.candidate_value"),
                "champion_value": tags.get("promotion.champion_value"), "margin": tags.get("promotion.margin"),
                "champion_version": str(champion.version), "champion_changed": champion.version == str(version)}
