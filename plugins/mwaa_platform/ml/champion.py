"""The registered model's `champion` (by alias, never "latest") and the SageMaker artifact it was trained into."""

from __future__ import annotations

from dataclasses import dataclass

ALIAS = "champion"


class NoChampion(LookupError):
    """No version carries the alias yet: nothing to score or deploy (a skip, not a failure)."""


class ChampionError(ValueError):
    """The champion cannot be served as it is; the message names what to fix."""


@dataclass(frozen=True)
class Champion:
    registered_model: str
    version: int
    run_id: str
    artifact_uri: str  # model.tar.gz of its SageMaker training job
    training_job: str

    def as_dict(self) -> dict:
        return {"registered_model": self.registered_model, "version": self.version, "run_id": self.run_id,
                "artifact_uri": self.artifact_uri, "training_job": self.training_job}


def resolve(client, registered_model: str) -> Champion:
    """The version behind the alias; raises NoChampion or ChampionError."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(registered_model, ALIAS)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            raise NoChampion(f"registered model {registered_model!r} has no {ALIAS!r} alias yet: run ml_train "
                             "(it promotes a model that beats the champion) and this runs on the new champion") from exc
        raise
    artifact = version.tags.get("sagemaker.model_artifacts", "")
    if not artifact.startswith("s3://"):
        raise ChampionError(f"{registered_model} version {version.version} (champion) has no sagemaker.model_artifacts "
                            "tag naming its model.tar.gz: register versions through ml_train, or move the alias to "
                            "one that has it")
    return Champion(registered_model, int(version.version), version.run_id or "", artifact,
                    version.tags.get("sagemaker.training_job_name", ""))


def check_artifact(s3_client, champion: Champion) -> None:
    """Raises ChampionError when the model.tar.gz is gone (SageMaker would only fail much later, less clearly)."""
    from botocore.exceptions import ClientError

    from mwaa_platform.ml.tracking import split_s3

    bucket, key = split_s3(champion.artifact_uri)
    try:
        s3_client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            raise
        raise ChampionError(
            f"the artifact of {champion.registered_model} version {champion.version} (champion) is gone: "
            f"{champion.artifact_uri} (training job {champion.training_job or 'unknown'}) does not exist; restore "
            f"the object, or retrain (run ml_train) so a new version becomes champion") from exc
