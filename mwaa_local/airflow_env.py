"""The environment a local Airflow process runs with: same folders, secrets backend and settings as on MWAA,
with AWS pointed at the local cloud."""

from __future__ import annotations

import json
from pathlib import Path

from mwaa_local import paths
from mwaa_local.cloud.process import client_environment

SECRETS_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
SECRETS_BACKEND_KWARGS = {"connections_prefix": "airflow/connections", "variables_prefix": "airflow/variables"}


def airflow_environment(endpoint_url: str, airflow_home: Path, sql_alchemy_conn: str, dags: Path = paths.DAGS,
                        plugins: Path = paths.PLUGINS, include: Path = paths.INCLUDE) -> dict[str, str]:
    """`dags`/`plugins`/`include`: the working tree by default, or a tree pulled from the MWAA bucket."""
    return {
        **client_environment(endpoint_url),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__SECRETS__BACKEND": SECRETS_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(SECRETS_BACKEND_KWARGS),
        "MWAA_INCLUDE_DIR": str(include),
        "PLATFORM_ENV": "local",
        "PYTHONPATH": f"{paths.ROOT}:{plugins}",
    }
