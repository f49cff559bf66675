"""Connection -> MLflow target: a self-hosted URL with basic auth, or a SageMaker MLflow tracking server ARN; and
the hook's clear errors for a missing, malformed or unreachable server."""

from __future__ import annotations

import json
import time

import pytest

from mwaa_platform.ml.mlflow_target import MlflowConnectionError, target_from_connection

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/retail"


def parse(host=None, schema=None, port=None, login=None, password=None, extra=None, conn_type="http"):
    return target_from_connection("mlflow_default", conn_type, host, schema, port, login, password, extra)


def test_url_in_host_with_credentials():
    target = parse("http://127.0.0.1:5000/", login="admin", password="s3cret")
    assert (target.tracking_uri, target.username, target.password) == ("http://127.0.0.1:5000", "admin", "s3cret")
    assert not target.is_sagemaker and target.ui_url == "http://127.0.0.1:5000"


def test_host_port_schema_form():
    assert parse("mlflow.internal", schema="http", port=8080).tracking_uri == "http://mlflow.internal:8080"
    assert parse("mlflow.example.com").tracking_uri == "https://mlflow.example.com"  # https unless told otherwise


@pytest.mark.parametrize("where", ["host", "extra"])
def test_sagemaker_tracking_server_arn(where):
    target = parse(ARN) if where == "host" else parse("ignored.example.com", extra={"tracking_server_arn": ARN})
    assert target.tracking_uri == ARN and target.is_sagemaker and target.ui_url is None
    assert target.username is None and target.password is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "has no host"),
    ({"host": "arn:aws:sagemaker:eu-west-1:1234:mlflow-tracking-server/x"}, "not a SageMaker MLflow tracking server ARN"),
    ({"host": "arn:aws:s3:::bucket"}, "not a SageMaker MLflow tracking server ARN"),
    ({"host": "ftp://server"}, "not an http\\(s\\) URL"),
    ({"host": "http://127.0.0.1:5000", "login": "admin"}, "both login and password"),
])
def test_bad_connections_say_what_to_fix(kwargs, message):
    with pytest.raises(MlflowConnectionError, match=message):
        parse(**kwargs)


def test_hook_missing_connection_names_the_secret(monkeypatch):
    from mwaa_platform.hooks.mlflow_hook import MlflowHook

    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_MLFLOW", raising=False)
    with pytest.raises(MlflowConnectionError, match="airflow/connections/no_such_mlflow"):
        MlflowHook("no_such_mlflow").target()


def test_hook_dead_server_fails_in_seconds_with_a_clear_message(monkeypatch):
    """Nothing listens on the port: the hook's retries/timeout make this quick (MLflow's defaults take minutes)."""
    import socket

    from mwaa_platform.hooks.mlflow_hook import MlflowHook, MlflowUnavailableError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_DEAD_MLFLOW", json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{port}", "login": "a", "password": "b"}))
    started = time.monotonic()
    with pytest.raises(MlflowUnavailableError, match=f"could not reach MLflow at http://127.0.0.1:{port} "
                                                     "\\(connection 'dead_mlflow'\\).*is the server up"):
        MlflowHook("dead_mlflow").get_conn()
    import os

    assert (os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"], os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"]) == ("1", "10")
    assert time.monotonic() - started < 60  # generous: MLflow's defaults (7 retries, backoff) take minutes
