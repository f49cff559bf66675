"""The environment a local Airflow process runs with: same folders, secrets backend and settings as on MWAA,
with AWS pointed at the local cloud."""

from __future__ import annotations

import json
from pathlib import Path

from mwaa_local import paths
from mwaa_local.cloud.process import client_environment

SECRETS_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
SECRETS_BACKEND_KWARGS = {"connections_prefix": "airflow/connections", "variables_prefix": "airflow/variables"}


def airflow_environment(endpoint_url: str, airflow_home: Path, sql_alchemy_conn: str) -> dict[str, str]:
    return {
        **client_environment(endpoint_url),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__SECRETS__BACKEND": SECRETS_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(SECRETS_BACKEND_KWARGS),
        "MWAA_INCLUDE_DIR": str(paths.INCLUDE),
        "PLATFORM_ENV": "local",
        "PYTHONPATH": f"{paths.ROOT}:{paths.PLUGINS}",
    }
