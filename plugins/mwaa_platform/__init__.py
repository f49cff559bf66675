"""Hooks, operators and helpers shared by this repository's DAGs. Ships to MWAA as plugins.zip (contents at the root)."""
