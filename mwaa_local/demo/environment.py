"""What the demo runs on: the local MWAA environment of `./mwaa-local up --detach` (reused when one is running),
the local MLflow server with its `mlflow_default` connection in Secrets Manager, and the source database.
Everything started here has a pid record, so `./mwaa-local down` (or `stop`) ends it, whatever step fails later."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mwaa_local.errors import UserError


@dataclass
class Environment:
    endpoint_url: str  # the local cloud
    api_url: str  # Airflow's UI and REST API
    source_dsn: str
    mlflow_url: str
    mlflow_user: str
    mlflow_password: str  # never printed except the one time a generated password is shown
    mlflow_password_file: str  # where the password is kept (mode 600)
    mlflow_password_generated: bool  # True the one time the demo generated it (then it is printed at once)
    started_up: bool  # this demo started `up` (else it reused a running one)


def _running_api_url() -> str | None:
    from mwaa_local.runtime import components, supervisor

    if components.SUPERVISOR not in components.running():
        return None
    try:
        return json.loads(supervisor.ready_file().read_text())["api_url"]
    except (OSError, ValueError, KeyError):
        return None


def _last_error(log) -> str | None:
    """`up`'s own one-line error (its last `error:` line), so the demo's message says why."""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("error:")]
    except OSError:
        return None
    return lines[-1].removeprefix("error:").strip() if lines else None


def _refuse_a_busy_state_dir(cloud_port: int) -> None:
    """Before anything starts: another cloud holding the state dir is named (as `cloud` and `up` do)."""
    from pathlib import Path

    from mwaa_local.cloud import process
    from mwaa_local.cloud.state import StateDirBusy, lock_holder

    if process.health(f"http://{process.DEFAULT_HOST}:{cloud_port}"):
        return  # up reuses the cloud answering there
    state_dir = Path(process.default_state_dir()).resolve()
    holder = lock_holder(state_dir)
    if holder is not None:
        raise StateDirBusy(state_dir, holder)


def ensure_up(cloud_port: int, api_port: int, ready_timeout: float, mlflow_port: int) -> tuple[str, bool]:
    """(api_url, started): `up --detach` unless a ready `up` runs already."""
    from mwaa_local.runtime import detach, supervisor

    api_url = _running_api_url()
    if api_url:
        return api_url, False
    _refuse_a_busy_state_dir(cloud_port)
    # `up` starts MLflow itself on the demo's port, so ensure_mlflow finds that one server.
    options = supervisor.UpOptions(cloud_port=cloud_port, api_port=api_port, ready_timeout=ready_timeout,
                                   mlflow_port=mlflow_port)
    code = detach.start_detached(options)  # ends what it started if Airflow does not get ready
    api_url = _running_api_url()
    if code != 0 or api_url is None:
        log = supervisor.logs_dir() / "up.log"
        reason = _last_error(log)
        raise UserError(f"`up --detach` failed (exit {code}){': ' + reason if reason else ''}; its log: {log}")
    return api_url, True


def ensure_mlflow(endpoint_url: str, port: int):
    """(server, password file, generated now): the server (reused if ours answers) and the DAGs' connection."""
    from mwaa_local import mlflow_server, provision

    config = provision.local_settings()
    server = mlflow_server.ensure_server(endpoint_url, config["mlflow"]["artifact_bucket"], port=port)
    mlflow_server.store_connection(endpoint_url, server, config["mlflow"]["connection_id"])
    kept = mlflow_server.default_state_dir() / "admin.json"
    if not server.password_shown:
        mlflow_server.mark_password_shown()  # the caller prints it right away, before any later step can fail
    return server, str(kept), not server.password_shown


def start(cloud_port: int, api_port: int, mlflow_port: int, ready_timeout: float) -> Environment:
    from mwaa_local import postgres
    from mwaa_local.cloud import process
    from mwaa_local.runtime import services

    api_url, started = ensure_up(cloud_port, api_port, ready_timeout, mlflow_port)
    endpoint_url = f"http://127.0.0.1:{cloud_port}"
    if process.health(endpoint_url) is None:
        raise UserError(f"the running `up` does not use a local cloud on port {cloud_port}; pass its --port, or "
                        "`./mwaa-local down` and run the demo again")
    server, password_file, generated = ensure_mlflow(endpoint_url, mlflow_port)
    # `up` created this database and stored its connection (retail_source_db) in Secrets Manager.
    source_dsn = postgres.create_database(services.SOURCE_DB)
    return Environment(endpoint_url, api_url, source_dsn, server.url, server.username, server.password,
                       password_file, generated, started)


def admin_login_note() -> str:
    from mwaa_local.runtime import credentials, supervisor

    login = credentials.read_login(supervisor.passwords_file())
    user = login.user if login else "admin"
    return f"{user}, password in {supervisor.passwords_file()} (mode 600; MWAA_LOCAL_ADMIN_PASSWORD sets it)"
