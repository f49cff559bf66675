"""Subcommands of ./mwaa-local, one module each (see mwaa_local.cli)."""
