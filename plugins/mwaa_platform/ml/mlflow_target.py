"""An Airflow connection -> where MLflow lives: a self-hosted server (URL + basic-auth credentials) or a
SageMaker-managed MLflow tracking server (its ARN is the tracking URI; the sagemaker-mlflow plugin signs requests)."""

from __future__ import annotations

import re
from dataclasses import dataclass

ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:mlflow-(tracking-server|app)/[A-Za-z0-9][A-Za-z0-9-]*$")


class MlflowConnectionError(ValueError):
    pass


@dataclass(frozen=True)
class MlflowTarget:
    tracking_uri: str
    username: str | None = None
    password: str | None = None

    @property
    def is_sagemaker(self) -> bool:
        return self.tracking_uri.startswith("arn:")

    @property
    def ui_url(self) -> str | None:
        """Where a browser opens the UI (None for SageMaker: its UI needs a presigned URL)."""
        return None if self.is_sagemaker else self.tracking_uri.rstrip("/")


def target_from_connection(conn_id: str, conn_type: str | None, host: str | None, schema: str | None,
                           port: int | None, login: str | None, password: str | None,
                           extra: dict | None) -> MlflowTarget:
    extra = extra or {}
    arn = extra.get("tracking_server_arn") or (host if (host or "").startswith("arn:") else None)
    if arn:
        if not ARN.match(arn):
            raise MlflowConnectionError(
                f"connection {conn_id!r}: {arn!r} is not a SageMaker MLflow tracking server ARN "
                "(arn:aws:sagemaker:<region>:<account>:mlflow-tracking-server/<name>)")
        return MlflowTarget(arn)
    if not host:
        raise MlflowConnectionError(f"connection {conn_id!r} has no host: set it to the MLflow server's URL "
                                    "(http://host:port) or a SageMaker MLflow tracking server ARN")
    if "://" in host:
        url = host
    else:
        scheme = schema if schema in ("http", "https") else "https"
        url = f"{scheme}://{host}" + (f":{port}" if port else "")
    if not re.match(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$", url):
        raise MlflowConnectionError(f"connection {conn_id!r}: {url!r} is not an http(s) URL of an MLflow server")
    if bool(login) != bool(password):
        raise MlflowConnectionError(f"connection {conn_id!r}: set both login and password (basic auth) or neither")
    return MlflowTarget(url.rstrip("/"), login or None, password or None)
