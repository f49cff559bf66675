"""`./mwaa-local test [pytest args]`: the whole suite (or what the args select) in a hermetic environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from mwaa_local import paths

NAME = "test"
HELP = "Run the pytest suite (extra arguments go to pytest, e.g. tests/dags -k cycle -x)."

NO_TESTS_COLLECTED = 5  # pytest's exit code when nothing ran: a typo in a path must not look like success
# Never reach a real AWS account from a test, whatever the developer's shell holds.
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
REAL_AWS_IDENTITY = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                     "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


def add_arguments(parser):
    parser.set_defaults(accepts_extra=True)


def test_environment(airflow_home: str) -> dict[str, str]:
    """A throwaway AIRFLOW_HOME per run (no state leaks between runs), MWAA's folders, no example DAGs.
    Airflow's unit_test_mode is left off: it swaps in Airflow's own test config, not MWAA's."""
    env = {k: v for k, v in os.environ.items() if k not in REAL_AWS_IDENTITY}
    env.update(DUMMY_AWS)
    env.update({
        "AIRFLOW_HOME": airflow_home,
        "AIRFLOW__CORE__DAGS_FOLDER": str(paths.DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def run(args) -> int:
    extra = list(args.extra)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    scratch = paths.local_state() / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="test-airflow-home-") as airflow_home:
        cmd = [sys.executable, "-m", "pytest", *extra]
        code = subprocess.run(cmd, cwd=paths.ROOT, env=test_environment(airflow_home)).returncode
    if code == NO_TESTS_COLLECTED:
        print("error: no tests ran (pytest exit code 5); check the paths and -k/-m selection", file=sys.stderr)
        return 1
    return code
