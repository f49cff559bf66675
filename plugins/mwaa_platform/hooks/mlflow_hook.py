"""MlflowHook: an Airflow connection -> an MlflowClient, with timeouts and retries short enough that a dead server
fails a task in seconds (MLflow's defaults, 7 retries and 120 s per request, stall a task for minutes).

The connection (default `mlflow_default`, from the secrets backend) is either a self-hosted server, host = its URL
(or host/port/schema) with login/password for basic auth, or a SageMaker-managed MLflow tracking server: host (or
extra `tracking_server_arn`) = its ARN; the sagemaker-mlflow plugin then signs requests with the AWS credentials.
"""

from __future__ import annotations

import contextlib
import os

from airflow.sdk import BaseHook

from mwaa_platform.ml.mlflow_target import MlflowConnectionError, MlflowTarget, target_from_connection


class MlflowUnavailableError(RuntimeError):
    """MLflow could not be reached or refused the request; the message says which server and what to check."""


class MlflowHook(BaseHook):
    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    conn_type = "mlflow"
    hook_name = "MLflow"

    def __init__(self, mlflow_conn_id: str = default_conn_name, request_timeout_s: int = 10, max_retries: int = 1):
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id
        self.request_timeout_s, self.max_retries = request_timeout_s, max_retries
        self._target: MlflowTarget | None = None

    def target(self) -> MlflowTarget:
        if self._target is None:
            from airflow.exceptions import AirflowNotFoundException

            try:
                conn = self.get_connection(self.mlflow_conn_id)
            except AirflowNotFoundException as exc:
                raise MlflowConnectionError(
                    f"Airflow connection {self.mlflow_conn_id!r} is not defined: add it to the secrets backend "
                    f"(airflow/connections/{self.mlflow_conn_id}) with the MLflow URL and credentials, or a SageMaker "
                    "MLflow tracking server ARN (locally: ./mwaa-local mlflow stores it)") from exc
            self._target = target_from_connection(self.mlflow_conn_id, conn.conn_type, conn.host, conn.schema,
                                                  conn.port, conn.login, conn.password, conn.extra_dejson)
        return self._target

    def configure(self) -> MlflowTarget:
        """Points this process's MLflow client (fluent API included) at the connection's server."""
        import mlflow

        target = self.target()
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(self.max_retries)
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(self.request_timeout_s)
        os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "1"
        os.environ["MLFLOW_HTTP_REQUEST_MAX_BACKOFF"] = "5"
        for key, value in (("MLFLOW_TRACKING_USERNAME", target.username), ("MLFLOW_TRACKING_PASSWORD", target.password)):
            if value:
                os.environ[key] = value
            else:
                os.environ.pop(key, None)
        mlflow.set_tracking_uri(target.tracking_uri)
        mlflow.set_registry_uri(target.tracking_uri)
        return target

    def get_conn(self):
        """An MlflowClient for the connection's server, after one cheap call that proves it answers."""
        from mlflow import MlflowClient

        target = self.configure()
        client = MlflowClient(tracking_uri=target.tracking_uri, registry_uri=target.tracking_uri)
        with self.errors("reach"):
            client.search_experiments(max_results=1)
        return client

    @contextlib.contextmanager
    def errors(self, doing: str = "talk to"):
        """Turns the client's exceptions into one clear line naming the server and the connection."""
        from mlflow.exceptions import MlflowException
        from requests.exceptions import RequestException

        try:
            yield
        except (MlflowException, RequestException, ConnectionError, TimeoutError) as exc:
            target = self.target()
            detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            unreachable = isinstance(exc, (RequestException, ConnectionError, TimeoutError)) or any(
                word in str(exc) for word in ("Max retries", "Connection refused", "timed out", "ConnectionError"))
            hint = ("check the login/password of the connection" if "401" in detail or "403" in detail
                    else "is the server up? (locally: ./mwaa-local mlflow)" if unreachable
                    else "see the task log")
            raise MlflowUnavailableError(f"could not {doing} MLflow at {target.tracking_uri} (connection "
                                         f"{self.mlflow_conn_id!r}): {detail}; {hint}") from exc

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_conn()
        except (MlflowConnectionError, MlflowUnavailableError) as exc:
            return False, str(exc)
        return True, f"MLflow at {self.target().tracking_uri} answers"
