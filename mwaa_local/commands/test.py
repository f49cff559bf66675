"""`./mwaa-local test [pytest args]`: the whole suite (or what the args select) in a hermetic environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mwaa_local import paths

NAME = "test"
HELP = "Run the pytest suite (extra arguments go to pytest, e.g. tests/dags -k cycle -x)."

WORKER_RUN_DIR_ENV = "MWAA_LOCAL_TEST_RUN_DIR"  # read by tests/conftest.py
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


def default_workers() -> int:
    """One more worker than cores: many tests wait on subprocesses (DAG runs, a cloud, `up`) rather than compute."""
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


# Arguments that choose the distribution themselves, or that need one process (a debugger, a collection listing).
_DISTRIBUTION_CHOSEN = ("-n", "--numprocesses", "--dist", "--tx", "-d", "--pdb", "--trace", "--collect-only", "--co",
                        "-s", "--capture=no", "--sw", "--stepwise")


def parallel_arguments(extra: list[str], workers: int) -> list[str]:
    """`-n <workers> --dist loadgroup` (groups: tests/conftest.py) for the suite or folders of it. Nothing when the
    arguments choose the distribution, switch xdist off (`-p no:xdist`), or select only files or single tests: a
    file alone runs in one process without the workers' start-up cost."""
    if workers <= 1 or any(a.split("=", 1)[0] in _DISTRIBUTION_CHOSEN or a.startswith("-n") for a in extra):
        return []
    if any(a == "no:xdist" or a == "-pno:xdist" for a in extra):
        return []
    targets = [a for a in extra if not a.startswith("-") and (paths.ROOT / a.split("::", 1)[0]).exists()]
    if targets and all("::" in t or (paths.ROOT / t).is_file() for t in targets):
        return []
    return ["-n", str(workers), "--dist", "loadgroup", "--no-loadscope-reorder"]


def slowest_arguments(extra: list[str], parallel: list[str]) -> list[str]:
    """For a parallel run: pytest's list of the slowest tests (setup included) over a minute, to see what keeps the
    suite long. Not when the arguments ask for their own `--durations`."""
    if not parallel or any(a.startswith("--durations") for a in extra):
        return []
    return ["--durations=15", "--durations-min=60"]


def run(args) -> int:
    extra = list(args.extra)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    scratch = paths.local_state() / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="test-run-") as run_dir:
        airflow_home = Path(run_dir) / "airflow-home"
        airflow_home.mkdir()
        env = test_environment(str(airflow_home))
        env[WORKER_RUN_DIR_ENV] = run_dir  # each xdist worker's own state dir and AIRFLOW_HOME go under it
        parallel = parallel_arguments(extra, default_workers())
        cmd = [sys.executable, "-m", "pytest", *parallel, *slowest_arguments(extra, parallel), *extra]
        code = subprocess.run(cmd, cwd=paths.ROOT, env=env).returncode
    if code == NO_TESTS_COLLECTED:
        print("error: no tests ran (pytest exit code 5); check the paths and -k/-m selection", file=sys.stderr)
        return 1
    return code
