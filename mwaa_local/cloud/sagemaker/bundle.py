"""A model made ready to serve in a folder: ModelDataUrl extracted into model/, the inference code
(SAGEMAKER_SUBMIT_DIRECTORY tar.gz, else model/code/) in code/, and the serving process's environment."""

from __future__ import annotations

from pathlib import Path

from mwaa_local.cloud import client
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.sagemaker import images, staging

INFERENCE = Path(__file__).resolve().parent / "inference"


class BundleError(Exception):
    """The model cannot be served; the message says why (it becomes a FailureReason)."""


def _download_tar(context: CloudContext, uri: str, target: Path, what: str) -> None:
    try:
        staging.extract_tar(context.s3, uri, target, what)
    except staging.StagingError as exc:
        raise BundleError(str(exc)) from None


def primary_container(model_request: dict) -> dict:
    container = model_request.get("PrimaryContainer") or (model_request.get("Containers") or [None])[0]
    if not isinstance(container, dict):
        raise BundleError("the model has no PrimaryContainer")
    return container


def prepare(context: CloudContext, model_request: dict, folder: Path) -> dict[str, str]:
    """Stages the model into folder/model and folder/code; returns the serving process's environment."""
    container = primary_container(model_request)
    try:
        image = images.parse(container.get("Image", ""))
        images.check_runnable(image)
    except images.UnsupportedImage as exc:
        raise BundleError(str(exc)) from None
    environment = {k: str(v) for k, v in (container.get("Environment") or {}).items()}
    model_dir, code_dir = folder / "model", folder / "code"
    model_dir.mkdir(parents=True, exist_ok=True)
    if container.get("ModelDataUrl"):
        _download_tar(context, container["ModelDataUrl"], model_dir, "ModelDataUrl")
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if submit.startswith("s3://"):
        _download_tar(context, submit, code_dir, "SAGEMAKER_SUBMIT_DIRECTORY")
    elif (model_dir / "code").is_dir():
        code_dir = model_dir / "code"
    else:
        code_dir.mkdir(parents=True, exist_ok=True)
    program = environment.get("SAGEMAKER_PROGRAM")
    if program and not (code_dir / program).exists():
        raise BundleError(f"inference script {program} (SAGEMAKER_PROGRAM) is not in the model's code "
                          f"({submit or 'model.tar.gz code/'})")
    env = client.job_environment(context.endpoint_url, context.region)
    env["PYTHONPATH"] = str(code_dir)
    env.update(environment)
    env.update({"SM_MODEL_DIR": str(model_dir), "SM_CODE_DIR": str(code_dir)})
    if not program and image.framework == "xgboost":  # the built-in algorithm's own serving
        env["SM_BUILTIN_ALGORITHM"] = "xgboost"
    return env
