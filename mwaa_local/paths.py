"""Where things live in the repository and in the local-state folder."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"
INCLUDE = ROOT / "include"
PLUGINS = ROOT / "plugins"
TESTS = ROOT / "tests"
DIST = ROOT / "dist"
REQUIREMENTS = ROOT / "requirements.txt"
STARTUP = ROOT / "startup.sh"

PINS = Path(__file__).resolve().parent / "pins"
MWAA_CONSTRAINTS = PINS / "airflow-3.3.1-constraints-3.12.txt"
MWAA_ESSENTIAL = PINS / "mwaa-3.3.1-essential-constraints.txt"

LOCK_DIR = Path(__file__).resolve().parent / "lock"
LOCK_INPUT = LOCK_DIR / "requirements-local.in"
LOCK_FILE = LOCK_DIR / "requirements-local.txt"


def local_state() -> Path:
    """The gitignored folder for everything the local environment writes (override: MWAA_LOCAL_STATE)."""
    return Path(os.environ.get("MWAA_LOCAL_STATE", ROOT / ".local"))
