"""Tooling for the MWAA DAG repository: CLI, local cloud, local MWAA runtime and deploy. Never deployed."""
