"""Fixtures shared by the whole suite, and how it runs in parallel (pytest-xdist, `./mwaa-local test`).

Parallel runs (`-n N --dist loadgroup`): every worker is a separate pytest session, so each has its own session
local cloud, PostgreSQL servers and MLflow (all on free ports), and its own MWAA_LOCAL_STATE and AIRFLOW_HOME.
Tests are scheduled in groups that one worker runs in collection order:
  - by default a test module is one group (its module fixtures are built once, its tests keep their order);
  - modules that share an expensive session fixture form one group, named after it (SHARED_STATE_FIXTURES:
    the e2e stack's seeded source and DAG-run history, the ML stack), so it is built once;
  - tests marked `serial` form one group: they never run beside each other (use it for a test that must not
    overlap another of its kind, e.g. one that asserts on machine-wide process or port tables);
  - an explicit `pytest.mark.xdist_group("name")` wins.
Groups holding e2e tests are handed out first (they are the long poles)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from mwaa_local.cloud import process

# Session fixtures whose state several modules build on -> their group: every test using one runs on one worker.
SHARED_STATE_FIXTURES = {"etl": "e2e", "e2e_postgres": "e2e", "ml": "ml"}
WORKER_RUN_DIR_ENV = "MWAA_LOCAL_TEST_RUN_DIR"  # set by `./mwaa-local test`: per-worker folders go under it


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker (not a pytest a test starts, which inherits the variable)
        _isolate_worker(config, config.workerinput["workerid"])


def _isolate_worker(config, worker: str) -> None:
    """Local state (.local: pid records, the dag_runner's Airflow home, deploy caches, ...) and AIRFLOW_HOME of
    this worker alone, set before any test imports Airflow."""
    parent = os.environ.get(WORKER_RUN_DIR_ENV)
    folder = Path(parent) / worker if parent else Path(tempfile.mkdtemp(prefix=f"mwaa-test-{worker}-"))
    if folder.exists() and parent:
        shutil.rmtree(folder)
    (folder / "state").mkdir(parents=True)
    (folder / "airflow-home").mkdir()
    os.chmod(folder, 0o755)  # as root, an embedded PostgreSQL runs as `pgserver` and must reach what is below
    os.environ["MWAA_LOCAL_STATE"] = str(folder / "state")
    os.environ["AIRFLOW_HOME"] = str(folder / "airflow-home")
    if not parent:
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def _group(item) -> str:
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
    if item.get_closest_marker("serial") is not None:
        return "serial"
    shared = [group for name, group in SHARED_STATE_FIXTURES.items() if name in item.fixturenames]
    return shared[0] if shared else item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    groups = {}
    for item in items:
        name = _group(item)
        groups.setdefault(name, []).append(item)
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(name))
    # Long poles first (a stable sort: collection order otherwise, the same on every worker).
    ordered = sorted(groups.values(), key=lambda group: not any(i.get_closest_marker("e2e") for i in group))
    items[:] = [item for group in ordered for item in group]


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory):
    """A local cloud for the test session, persisted in a temp dir, with clients pointed at it through
    AWS_ENDPOINT_URL and dummy credentials (as a user's shell would be)."""
    state_dir = tmp_path_factory.mktemp("cloud-state")
    log_file = tmp_path_factory.mktemp("cloud-log") / "cloud.log"
    cloud = process.start(state_dir=state_dir, log_file=log_file)
    saved = {k: os.environ.get(k) for k in process.client_environment(cloud.endpoint_url)}
    os.environ.update(process.client_environment(cloud.endpoint_url))
    cloud.state_dir, cloud.log_file = state_dir, log_file
    yield cloud
    cloud.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def aws(local_cloud):
    """boto3 clients for the local cloud: aws('s3'), aws('redshift-data'), ..."""
    import boto3

    session = boto3.session.Session(region_name="us-east-1")
    return lambda service, **kwargs: session.client(service, endpoint_url=local_cloud.endpoint_url, **kwargs)
