"""Amazon MWAA's control plane (REST-JSON, signing name `airflow`), backed by the local MWAA environment."""
