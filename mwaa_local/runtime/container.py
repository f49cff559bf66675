"""The entry point of docker-compose.yaml's services: `python -m mwaa_local.runtime.container <role>`, the same
bootstrap code as `./mwaa-local up` (bootstrap.py, requirements.py, startup_script.py, settings.py), laid out as
MWAA lays files out in its containers:

  /usr/local/airflow                      AIRFLOW_HOME
  /usr/local/airflow/dags                 s3://<bucket>/dags/, synced at start and every few seconds after
  /usr/local/airflow/plugins              plugins.zip, extracted
  /usr/local/airflow/requirements/requirements.txt, /usr/local/airflow/startup/startup.sh, .../plugins.zip

Roles:
  init              once, before Airflow (the python image with the repository's .venv): the source and MLflow
                    databases, the local account provisioned, secrets seeded, the working tree deployed to the MWAA
                    bucket, the shared keys and admin login, `airflow db migrate`, the Airflow homes handed to
                    the airflow user
  api-server | scheduler | dag-processor | triggerer
                    (the apache/airflow image) MWAA's bootstrap from the bucket, then the component, whose exit
                    ends the container; the DAG folder is kept in step with the bucket meanwhile
  mlflow            the MLflow tracking server (basic auth, backend in PostgreSQL, artifacts in the local cloud)
  health <role>     the healthcheck of a role that has no CLI of its own (mlflow)

This machine has no Docker engine: tests/runtime/test_compose.py checks docker-compose.yaml against this module
statically; it is not run here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mwaa_local.errors import UserError

AIRFLOW_ROLES = ("api-server", "scheduler", "dag-processor", "triggerer")
ROLES = ("init", *AIRFLOW_ROLES, "mlflow", "health")

MWAA_HOME = Path("/usr/local/airflow")
# Where MWAA's image puts the files it reads from the bucket (python/mwaa/... of aws/amazon-mwaa-docker-images).
MWAA_FILES = {"startup": MWAA_HOME / "startup" / "startup.sh",
              "requirements": MWAA_HOME / "requirements" / "requirements.txt",
              "plugins": MWAA_HOME / "plugins.zip"}
AIRFLOW_UID, AIRFLOW_GID = 50000, 0  # the apache/airflow image's user
DAG_SYNC_S = 5.0

# What the compose file gives every service (read here, checked against the file by tests/runtime/test_compose.py).
CLOUD_URL_ENV = "MWAA_LOCAL_CLOUD_URL"  # http://local-cloud:4566
BUCKET_ENV = "MWAA_LOCAL_BUCKET"  # the MWAA bucket (include/config/platform.yaml, local)
REGION_ENV = "AWS_DEFAULT_REGION"
METADATA_DB_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"  # also what `airflow jobs check` healthchecks read
POSTGRES_ENV = "MWAA_LOCAL_POSTGRES_DSN"  # the server's maintenance DSN (init: the source and MLflow databases)
STATE_ENV = "MWAA_LOCAL_STATE"  # shared: keys.json, passwords.json, mlflow/
API_HOST_ENV = "MWAA_LOCAL_API_SERVER_HOST"  # the api-server's service name: where tasks reach the execution API
MLFLOW_URL_ENV = "MWAA_LOCAL_MLFLOW_URL"  # how tasks reach MLflow (http://mlflow:5000), stored as the connection
MLFLOW_BUCKET_ENV = "MWAA_LOCAL_MLFLOW_BUCKET"  # its artifacts (include/config/platform.yaml, local: mlflow)
MLFLOW_CONN_ENV = "MWAA_LOCAL_MLFLOW_CONN_ID"
AIRFLOW_HOMES_ENV = "MWAA_LOCAL_AIRFLOW_HOMES"  # init: the Airflow services' volumes, handed to the airflow user
ENV_NAMES = (CLOUD_URL_ENV, BUCKET_ENV, REGION_ENV, METADATA_DB_ENV, POSTGRES_ENV, STATE_ENV, API_HOST_ENV,
             MLFLOW_URL_ENV, MLFLOW_BUCKET_ENV, MLFLOW_CONN_ENV, AIRFLOW_HOMES_ENV)


def _need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UserError(f"{name} is not set: this entry point runs inside docker-compose.yaml's services")
    return value


def state_dir() -> Path:
    return Path(_need(STATE_ENV))


def layout():
    """The RuntimeLayout of a container: MWAA's AIRFLOW_HOME, the compose network's cloud and database."""
    from mwaa_local.runtime import credentials, settings

    state = state_dir()
    return settings.RuntimeLayout(MWAA_HOME, _need(CLOUD_URL_ENV), _need(METADATA_DB_ENV),
                                  state / "passwords.json", credentials.shared_keys(state / "keys.json"),
                                  settings.API_PORT)


def execution_api_url(api_port: int) -> str:
    """Tasks run in the scheduler's container and reach the api-server by its service name, not by loopback:
    the one setting a container changes in what settings.component_environment gives."""
    return f"http://{_need(API_HOST_ENV)}:{api_port}/execution/"


def component_environment(exports: dict[str, str]) -> dict[str, str]:
    from mwaa_local.runtime import settings

    runtime = layout()
    env = settings.component_environment(runtime, _need(REGION_ENV), exports)
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = execution_api_url(runtime.api_port)
    return env


def component_command(role: str) -> list[str]:
    """components.command, but the api-server listens on the container's interface: compose publishes it on the
    host's 127.0.0.1 only."""
    from mwaa_local.runtime import components, settings

    command = components.command(role, settings.API_PORT)
    if "--host" in command:
        command[command.index("--host") + 1] = "0.0.0.0"  # noqa: S104 - inside the container; published on loopback
    return command


def _s3():
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=_need(CLOUD_URL_ENV), region_name=_need(REGION_ENV),
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 10, "mode": "standard"}))


def _ensure_uv() -> None:
    """requirements.py installs with uv; the apache/airflow image ships it, pip installs it otherwise."""
    from mwaa_local import lock

    try:
        lock.uv_executable()
    except UserError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "uv"], check=True)


def run_component(role: str) -> int:
    from mwaa_local import bucket_sync
    from mwaa_local.runtime import bootstrap

    _ensure_uv()
    s3, bucket = _s3(), _need(BUCKET_ENV)
    runtime = layout()
    done = bootstrap.bootstrap(runtime, s3, bucket, _need(REGION_ENV), MWAA_HOME / "bootstrap",
                               destinations=MWAA_FILES)
    print(f"[{role}] bootstrap: requirements {done.requirements.already} satisfied, installed "
          f"{done.requirements.installed or 'nothing'}; startup.sh exported "
          f"{sorted(done.startup.exported) if done.startup else 'nothing (none)'}; {len(done.plugin_files)} plugin "
          f"file(s); {len(done.dags.downloaded)} DAG file(s)", flush=True)
    env = component_environment(done.startup.exported if done.startup else {})
    child = subprocess.Popen(component_command(role), env=env, cwd=MWAA_HOME, start_new_session=True)

    def forward(signum, _frame):
        os.killpg(child.pid, signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    while child.poll() is None:
        time.sleep(DAG_SYNC_S)
        try:
            bucket_sync.pull_dags(s3, bucket, MWAA_HOME / "dags")
        except Exception as exc:  # noqa: BLE001 - the cloud restarting must not end the component; retried
            print(f"[{role}] dags sync skipped: {exc}", flush=True)
    return child.returncode


def init() -> int:
    from mwaa_local import bucket_sync, mlflow_server, postgres, provision
    from mwaa_local.runtime import components, credentials, fab_admin, services, settings

    server = _need(POSTGRES_ENV)
    source = postgres.create_database(services.SOURCE_DB, server)
    postgres.create_database(mlflow_server.DATABASE, server)
    endpoint, region, bucket = _need(CLOUD_URL_ENV), _need(REGION_ENV), _need(BUCKET_ENV)
    provision.provision(endpoint, {services.SOURCE_CONN_ID: provision.postgres_connection(source)})
    deployed = bucket_sync.sync(_s3(), bucket)
    print(f"[init] deployed the working tree to s3://{bucket}/: {len(deployed.uploaded)} uploaded", flush=True)
    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    login = credentials.admin_login(state / "passwords.json")
    runtime = layout()
    base_env = settings.component_environment(runtime, region, {})
    components.migrate(base_env, state / "db-migrate.log")
    print("[init] airflow db migrate: done", flush=True)
    # The FAB auth manager's roles and admin user, as `up` makes them (one implementation).
    fab_admin.ensure_admin(base_env, login.user, login.password, state / "fab-admin.log", state / "fab-synced.json")
    print(f"[init] FAB roles {', '.join(fab_admin.MWAA_ROLES)} and admin user {login.user}: done", flush=True)
    # Fresh named volumes belong to root; the apache/airflow image runs as uid 50000.
    homes = [Path(p) for p in _need(AIRFLOW_HOMES_ENV).split(":") if p]
    for path in [state, *state.iterdir(), *homes]:
        os.chown(path, AIRFLOW_UID, AIRFLOW_GID)
    return 0


def mlflow() -> int:
    from mwaa_local import mlflow_server, postgres

    state = state_dir() / "mlflow"
    state.mkdir(parents=True, exist_ok=True)
    creds = mlflow_server._credentials(state)
    port = mlflow_server.DEFAULT_PORT
    backend = postgres.with_database(_need(POSTGRES_ENV), mlflow_server.DATABASE).replace(
        "postgresql://", "postgresql+psycopg2://", 1)
    bucket, endpoint = _need(MLFLOW_BUCKET_ENV), _need(CLOUD_URL_ENV)
    mlflow_server._ensure_bucket(endpoint, bucket)
    command = mlflow_server.server_command(port, backend, f"s3://{bucket}/mlflow")
    command[command.index("--host") + 1] = "0.0.0.0"  # noqa: S104 - inside the container; published on loopback
    hosts = command.index("--allowed-hosts") + 1
    command[hosts] += f",{_need(MLFLOW_URL_ENV).split('://', 1)[-1]}"
    url = _need(MLFLOW_URL_ENV)
    mlflow_server.store_connection(endpoint, mlflow_server.MlflowServer(url, creds["username"], creds["password"], None),
                                   _need(MLFLOW_CONN_ENV))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "MLFLOW_S3_ENDPOINT_URL": endpoint,
           "AWS_ENDPOINT_URL": endpoint, "MLFLOW_AUTH_CONFIG_PATH": str(mlflow_server._auth_config(state)),
           "MLFLOW_AUTH_ADMIN_PASSWORD": creds["password"], "MLFLOW_FLASK_SERVER_SECRET_KEY": creds["flask_secret"]}
    os.execve(command[0], command, env)
    return 1  # not reached


def health(role: str) -> int:
    """Exit 0 when `role` answers as it should (compose's healthcheck)."""
    if role == "mlflow":
        from mwaa_local import mlflow_server

        creds = json.loads((state_dir() / "mlflow" / "admin.json").read_text())
        url = f"http://127.0.0.1:{mlflow_server.DEFAULT_PORT}"
        return 0 if mlflow_server._alive(url, creds["username"], creds["password"], timeout=10) else 1
    raise UserError(f"no healthcheck here for {role}: compose checks it directly (see docker-compose.yaml)")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ROLES or (argv[0] == "health") != (len(argv) == 2) or len(argv) > 2:
        print(f"usage: python -m mwaa_local.runtime.container {{{'|'.join(r for r in ROLES if r != 'health')}}} | "
              "health <role>", file=sys.stderr)
        return 2
    try:
        if argv[0] == "init":
            return init()
        if argv[0] == "mlflow":
            return mlflow()
        if argv[0] == "health":
            return health(argv[1])
        return run_component(argv[0])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
