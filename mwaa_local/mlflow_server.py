"""The local MLflow tracking server: `mlflow server` with its backend store in the embedded PostgreSQL (database
`mlflow`), artifacts proxied into a bucket of the local cloud (clients need no S3 access), built-in basic auth,
loopback only, in its own process group with a pid record so `./mwaa-local stop` ends it.

The admin password is generated once, printed once, kept in <state>/admin.json (mode 600) and stored for Airflow as
the connection `mlflow_default` in the local Secrets Manager (airflow/connections/mlflow_default). The pid record
(<local state>/run/mlflow.json) has the fields of the CLI's pid records (service, pid, port, state_dir, command,
process_started, recorded_at)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mwaa_local import paths, postgres
from mwaa_local.errors import UserError

HOST = "127.0.0.1"
DEFAULT_PORT = 5000
ADMIN = "admin"
DATABASE = "mlflow"
SERVICE = "mlflow"
START_TIMEOUT_S = 300  # a cold start migrates the schema; shared, loaded cores make that slow


def default_state_dir() -> Path:
    return paths.local_state() / "mlflow"


def pid_record_path() -> Path:
    return paths.local_state() / "run" / f"{SERVICE}.json"


@dataclass
class MlflowServer:
    url: str
    username: str
    password: str
    pid: int | None
    password_shown: bool = True  # False until the command that started it has printed the password once

    def connection(self) -> dict:
        """The Airflow connection (JSON form, as in Secrets Manager) the DAGs use to reach this server."""
        return {"conn_type": "http", "host": self.url, "login": self.username, "password": self.password}

    def client_env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.url, "MLFLOW_TRACKING_USERNAME": self.username,
                "MLFLOW_TRACKING_PASSWORD": self.password}


def _write_credentials(path: Path, creds: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(creds, out)
    os.replace(tmp, path)


def _credentials(state_dir: Path) -> dict:
    """The admin password and the Flask secret, generated on first use (mode 600). A new password needs a new
    auth database: the old one's admin would not accept it."""
    path = state_dir / "admin.json"
    if path.exists():
        return json.loads(path.read_text())
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "basic_auth.db").unlink(missing_ok=True)
    creds = {"username": ADMIN, "password": secrets.token_urlsafe(18), "flask_secret": secrets.token_hex(32),
             "shown": False}
    _write_credentials(path, creds)
    return creds


def mark_password_shown(state_dir: Path | None = None) -> None:
    path = Path(state_dir or default_state_dir()).resolve() / "admin.json"
    _write_credentials(path, {**json.loads(path.read_text()), "shown": True})


def _auth_config(state_dir: Path) -> Path:
    path = state_dir / "basic_auth.ini"
    path.write_text("[mlflow]\ndefault_permission = READ\n"
                    f"database_uri = sqlite:///{state_dir / 'basic_auth.db'}\n"
                    f"admin_username = {ADMIN}\n"
                    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    return path


def _alive(url: str, username: str, password: str, timeout: float = 15) -> bool:
    """True when an MLflow server answers an authenticated API call with our credentials."""
    import base64

    request = urllib.request.Request(f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default")
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def _record(path: Path, pid: int, port: int, state_dir: Path, command: list[str]) -> None:
    import psutil

    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"service": SERVICE, "pid": pid, "port": port, "state_dir": str(state_dir), "command": command,
              "process_started": psutil.Process(pid).create_time(), "recorded_at": time.time()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)


def _ensure_bucket(endpoint_url: str, bucket: str) -> None:
    from botocore.exceptions import ClientError

    from mwaa_local.cloud.process import clients

    try:
        clients(endpoint_url)("s3").create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def store_connection(endpoint_url: str, server: MlflowServer, conn_id: str = "mlflow_default") -> None:
    from mwaa_local import provision

    provision.provision(endpoint_url, {conn_id: server.connection()})


def server_command(port: int, backend_uri: str, artifacts: str, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "mlflow", "server", "--host", HOST, "--port", str(port),
            "--backend-store-uri", backend_uri, "--artifacts-destination", artifacts,
            "--app-name", "basic-auth", "--workers", str(workers),
            "--allowed-hosts", f"{HOST}:{port},localhost:{port}"]


def ensure_server(endpoint_url: str, artifact_bucket: str, port: int = DEFAULT_PORT, state_dir: Path | None = None,
                  postgres_dsn: str | None = None, background: bool = True) -> MlflowServer:
    """Starts the server unless ours already answers on `port`; returns its URL and admin credentials.
    background=False: the caller waits on the process itself (`./mwaa-local mlflow --foreground`)."""
    state_dir = Path(state_dir or default_state_dir()).resolve()
    creds = _credentials(state_dir)
    url = f"http://{HOST}:{port}"
    if _alive(url, creds["username"], creds["password"]):
        return MlflowServer(url, creds["username"], creds["password"], None, creds.get("shown", True))
    if _port_in_use(port):
        raise UserError(f"port {port} on {HOST} is taken by a program that is not this project's MLflow server "
                        f"(or its admin password differs from {state_dir / 'admin.json'}); stop it or pick another "
                        "port with --port")
    backend = postgres.create_database(DATABASE, postgres_dsn or postgres.ensure_server())
    backend = backend.replace("postgresql://", "postgresql+psycopg2://", 1)
    _ensure_bucket(endpoint_url, artifact_bucket)
    command = server_command(port, backend, f"s3://{artifact_bucket}/mlflow")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "MLFLOW_S3_ENDPOINT_URL": endpoint_url, "AWS_ENDPOINT_URL": endpoint_url,
           "MLFLOW_AUTH_CONFIG_PATH": str(_auth_config(state_dir)), "MLFLOW_AUTH_ADMIN_PASSWORD": creds["password"],
           "MLFLOW_FLASK_SERVER_SECRET_KEY": creds["flask_secret"],
           # No GenAI job runner: its seven huey consumers cost ~2 GB of RSS and minutes of start-up on a loaded
           # machine, and nothing here submits MLflow server jobs.
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = open(state_dir / "server.log", "ab")  # noqa: SIM115 - the child keeps it
    # Own session = own process group: stop() ends uvicorn and its workers together.
    process = subprocess.Popen(command, env=env, cwd=state_dir, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    _record(pid_record_path() if state_dir == default_state_dir().resolve() else state_dir / "server.pid.json",
            process.pid, port, state_dir, command)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _alive(url, creds["username"], creds["password"]):
        if process.poll() is not None or time.monotonic() > deadline:
            _end_group(process.pid)
            tail = (state_dir / "server.log").read_text(errors="replace")[-1500:]
            raise UserError(f"the MLflow server did not start on {url}; log {state_dir / 'server.log'} ends with:\n{tail}")
        time.sleep(0.5)
    return MlflowServer(url, creds["username"], creds["password"], process.pid, creds.get("shown", True))


def _end_group(pid: int, timeout: float = 15) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.1)


def stop() -> int | None:
    """Ends the recorded server and its process group; returns its pid, or None if none of ours runs. A record
    whose pid died or now names another process (checked by start time) is dropped unharmed."""
    return _stop_recorded(pid_record_path())


def stop_at(state_dir: Path) -> int | None:
    """Stops the server whose state dir is `state_dir` (tests run their own servers beside the default one)."""
    return _stop_recorded(Path(state_dir).resolve() / "server.pid.json")


def _stop_recorded(path: Path) -> int | None:
    import psutil

    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        proc = psutil.Process(record["pid"])
        ours = abs(proc.create_time() - record["process_started"]) < 2 and proc.status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, KeyError, psutil.Error):
        ours = False
    if ours:
        _end_group(record["pid"])
    path.unlink(missing_ok=True)
    return record["pid"] if ours else None
