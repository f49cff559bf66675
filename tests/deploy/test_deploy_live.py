"""`./mwaa-local deploy --env local` against a live `./mwaa-local up`, as a user runs both (subprocesses from a clean
environment, tests/cli's `cli` fixture): the deploy's UpdateEnvironment re-bootstraps the running Airflow (startup.sh
re-sourced, the components restarted on it), `trigger retail_etl --env local --wait` then runs the ETL to success in
that environment; a requirements.txt that cannot install ends UPDATE_FAILED with uv's error while the previous
components keep running and still run a DAG. One `up` for the whole module: it is the expensive part."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import psutil
import pytest

from mwaa_local.cloud import process
from tests.cli.conftest import Cli, end_recorded, make_state_dir
from tests.deploy.test_deploy import NETWORK, SHIPPED

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3000)]
ENVIRONMENT = "mwaa-local"


class NetworkCli(Cli):
    """The `cli` fixture's clean environment plus the machine's TLS trust and proxy (deploy's test-requirements
    asks PyPI, as on a user's machine)."""

    def env(self) -> dict[str, str]:
        return {**super().env(), **{k: os.environ[k] for k in NETWORK if k in os.environ}}


def _component_pids(state) -> dict[str, int]:
    return {p.stem: json.loads(p.read_text())["pid"] for p in (state / "run").glob("airflow-*.json")
            if p.stem != "airflow-up"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """`up --detach` with its own state, ports and a copy of the deployable tree (what the deploys change)."""
    user = NetworkCli(make_state_dir("mwaa-deploy-live-"), process.free_port())
    user.cloud_port, user.api_port = process.free_port(), process.free_port()
    user.tree = tmp_path_factory.mktemp("deploy-live") / "tree"
    from mwaa_local import paths

    for name in SHIPPED:
        source = paths.ROOT / name
        if source.is_dir():
            shutil.copytree(source, user.tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            user.tree.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, user.tree / name)
    try:
        up = user.run("up", "--detach", "--port", str(user.cloud_port), "--api-port", str(user.api_port),
                      "--no-mlflow", timeout=900)  # the DAGs run here need no MLflow; 5000 may be taken
        assert up.returncode == 0, up.stdout + up.stderr
        yield user
    finally:
        user.run("down", timeout=300)
        end_recorded(user.state)
        shutil.rmtree(user.state, ignore_errors=True)


def _mwaa(live):
    return process.clients(f"http://127.0.0.1:{live.cloud_port}")("mwaa")


def _deploy(live, *args: str):
    return live.run("deploy", "--env", "local", "--port", str(live.cloud_port), "--source", str(live.tree), *args,
                    timeout=1800)


def _trigger(live, dag_id: str):
    return live.run("trigger", dag_id, "--env", "local", "--port", str(live.cloud_port), "--wait", "--unpause",
                    timeout=1800)


def test_deploy_re_bootstraps_the_running_airflow_and_the_etl_runs_there(live):
    # A tiny source for the interval a manual run processes (the one that ended last: yesterday, UTC).
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    seeded = live.run("seed-data", "--orders", "200", "--days", "1", "--start", yesterday, timeout=600)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr

    before = _component_pids(live.state)
    startup = live.tree / "startup.sh"
    startup.write_text(startup.read_text() + "\nexport DEPLOYED_BY_TEST=yes\n")
    deployed = _deploy(live)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    env = _mwaa(live).get_environment(Name=ENVIRONMENT)["Environment"]
    assert (env["Status"], env["LastUpdate"]["Status"]) == ("AVAILABLE", "SUCCESS")
    s3 = process.clients(f"http://127.0.0.1:{live.cloud_port}")("s3")
    assert env["StartupScriptS3ObjectVersion"] == s3.head_object(Bucket="mwaa-local-dags", Key="startup.sh")["VersionId"]

    # The components were restarted on the new startup.sh: new processes that see its export.
    after = _component_pids(live.state)
    assert set(after) == set(before) and not set(after.values()) & set(before.values()), (before, after)
    for name in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert psutil.Process(after[name]).environ().get("DEPLOYED_BY_TEST") == "yes", name

    run = _trigger(live, "retail_etl")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("success"), run.stdout


def test_requirements_that_cannot_install_fail_the_update_and_the_old_environment_keeps_running(live):
    mwaa = _mwaa(live)
    previous = mwaa.get_environment(Name=ENVIRONMENT)["Environment"]
    before = _component_pids(live.state)
    requirements = live.tree / "requirements.txt"
    requirements.write_text(requirements.read_text() + "boto3==1.20.0\n")  # MWAA pins boto3: cannot install
    # Past deploy's own validation (which would refuse it), as a file that only fails at install time would be.
    failed = _deploy(live, "--no-validate")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "UPDATE_FAILED" in failed.stdout + failed.stderr and "Traceback" not in failed.stdout + failed.stderr
    env = mwaa.get_environment(Name=ENVIRONMENT)["Environment"]
    assert (env["Status"], env["LastUpdate"]["Status"]) == ("UPDATE_FAILED", "FAILED")
    error = env["LastUpdate"]["Error"]["ErrorMessage"]
    assert "could not be installed" in error and "boto3" in error, error
    assert env["RequirementsS3ObjectVersion"] == previous["RequirementsS3ObjectVersion"]

    # The previous components still run (same processes) and still run a DAG.
    assert _component_pids(live.state) == before
    assert all(psutil.pid_exists(pid) for pid in before.values())
    run = _trigger(live, "platform_self_check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("success"), run.stdout
