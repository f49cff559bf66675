"""`./mwaa-local lint`: ruff with the Airflow (AIR) rules, configured in pyproject.toml [tool.ruff]. Check only:
formatting is left to each author."""

from __future__ import annotations

import subprocess
import sys

from mwaa_local import paths

NAME = "lint"
HELP = "Lint the repository with ruff, including the Airflow 3 AIR rules (extra arguments go to `ruff check`)."


def add_arguments(parser):
    parser.set_defaults(accepts_extra=True)


def run(args) -> int:
    extra = [a for a in args.extra if a != "--"]
    cmd = [sys.executable, "-m", "ruff", "check", *extra, str(paths.ROOT)]
    code = subprocess.run(cmd, cwd=paths.ROOT).returncode
    if code == 0:
        print("lint: clean")
    return code
