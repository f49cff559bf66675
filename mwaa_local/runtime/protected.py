"""Which exported variables a startup script may not change, and why (MWAA 3.3.1; see the image's
python/mwaa/config and RUNTIME facts vendored in this docstring):

- protected: reset to the container's own value whatever the script exports;
- essential settings: MWAA's own Airflow settings (executor, database, secret keys, ...), which always win.
There is no blanket AWS_* block: AWS_ACCESS_KEY_ID and friends may be exported."""

from __future__ import annotations

PROTECTED_PREFIX = "MWAA__"
PROTECTED = frozenset({
    "AIRFLOW_ENV_ID", "AIRFLOW_ENV_NAME", "AIRFLOW_HOME", "AIRFLOW_TASK_REVISION_ID", "AIRFLOW_VERSION",
    "AIRFLOW__AWS_MWAA__REDIRECT_URL", "JWT_PUBLIC_KEY", "AIRFLOW__WEBSERVER__BASE_URL", "AIRFLOW__API__BASE_URL",
    "AWS_DEFAULT_REGION", "AWS_REGION", "CUSTOMER_ACCOUNT_ID", "ECS_AGENT_URI", "ECS_CONTAINER_METADATA_URI",
    "ECS_CONTAINER_METADATA_URI_V4", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_EXECUTION_ENV", "PYTHONPATH",
    "PYTHONUNBUFFERED", "WATCHTOWER_VERSION", "USE_NON_CRITICAL_LOGGING",
    "AIRFLOW__CORE__DATABASE_ACCESS_ISOLATION",
})
# MWAA's essential settings: set last, so an export of these never takes effect either.
ESSENTIAL = frozenset({
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS",
    "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
})
# What bash itself changes while sourcing: never a variable the script set.
SHELL_NOISE = frozenset({"_", "SHLVL", "PWD", "OLDPWD"})


def refusal_reason(name: str) -> str | None:
    """Why MWAA ignores an export of `name`, or None if the export reaches Airflow."""
    if name.startswith(PROTECTED_PREFIX):
        return f"protected by MWAA (every name starting {PROTECTED_PREFIX})"
    if name in PROTECTED:
        return "protected by MWAA (reset to the environment's own value)"
    if name in ESSENTIAL:
        return "an MWAA essential setting (MWAA's value always wins)"
    return None
