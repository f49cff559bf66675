"""The environment every Airflow component gets, layered in MWAA's precedence (low to high): the container's
environment < MWAA's overridable defaults < startup-script exports < the environment's configuration options
(secrets backend, auth) < protected variables < MWAA's essential settings."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

AIRFLOW_VERSION = "3.3.1"
HOST = "127.0.0.1"
API_PORT = 8080
SECRETS_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
# MWAA's own kwargs (aws_default is never looked up in Secrets Manager) plus this project's prefixes.
SECRETS_BACKEND_KWARGS = {"connections_prefix": "airflow/connections", "variables_prefix": "airflow/variables",
                          "connections_lookup_pattern": "^(?!aws_default$).*$"}
# MWAA's auth manager: FAB, with its built-in roles Admin, Op, User, Viewer (MWAA maps IAM principals to them).
AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"

def client_environment(endpoint_url: str) -> dict[str, str]:
    """mwaa_local.cloud.process.client_environment, repeated so the runtime imports without moto (a container
    running only Airflow bootstraps with it); a test keeps the two equal."""
    return {"AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1"}


OVERRIDABLE_DEFAULTS = {
    "AIRFLOW__CORE__EXECUTE_TASKS_NEW_PYTHON_INTERPRETER": "True",
    "AIRFLOW__SCHEDULER__SCHEDULE_AFTER_TASK_EXECUTION": "False",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "1800",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    "AIRFLOW_CONN_AWS_DEFAULT": "aws://",
    # Local only: an edited or new DAG file is parsed within seconds (MWAA: 30 s / 5 min), one API worker.
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    "AIRFLOW__API__WORKERS": "1",
}


@dataclass
class RuntimeLayout:
    airflow_home: Path
    endpoint_url: str
    sql_alchemy_conn: str
    passwords_file: Path
    keys: dict[str, str]
    api_port: int = API_PORT

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"


def container_environment(layout: RuntimeLayout, region: str) -> dict[str, str]:
    """What the 'container' starts with: this shell minus Python/Airflow settings that would leak into it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(client_environment(layout.endpoint_url))
    env.update({"AWS_DEFAULT_REGION": region, "AWS_REGION": region, "PLATFORM_ENV": "local",
                "AIRFLOW_HOME": str(layout.airflow_home)})
    return env


def component_environment(layout: RuntimeLayout, region: str, exports: dict[str, str]) -> dict[str, str]:
    env = container_environment(layout, region)
    env.update(OVERRIDABLE_DEFAULTS)
    env.update(exports)
    env.update({  # the environment's AirflowConfigurationOptions
        "AIRFLOW__SECRETS__BACKEND": SECRETS_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(SECRETS_BACKEND_KWARGS),
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
    })
    env.update({  # protected: the container's own values
        "AIRFLOW_HOME": str(layout.airflow_home), "AIRFLOW_VERSION": AIRFLOW_VERSION, "AIRFLOW_ENV_NAME": "mwaa-local",
        "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "PYTHONUNBUFFERED": "1",
        "AIRFLOW__API__BASE_URL": layout.api_url,
    })
    env.pop("PYTHONPATH", None)
    env.update({  # essential
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": layout.sql_alchemy_conn,
        "AIRFLOW__API_AUTH__JWT_SECRET": layout.keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": layout.keys["api_secret_key"],
        "AIRFLOW__CORE__FERNET_KEY": layout.keys["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{layout.api_url}/execution/",
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    })
    return env
