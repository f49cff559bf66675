"""Fixtures shared by the whole suite, and how it runs in parallel (pytest-xdist, `./mwaa-local test`).

Parallel runs (`-n N --dist loadgroup`): every worker is a separate pytest session, so each has its own session
local cloud, PostgreSQL servers and MLflow (all on free ports), and its own MWAA_LOCAL_STATE and AIRFLOW_HOME.
Tests are scheduled in groups that one worker runs in collection order:
  - by default a test module is one group (its module fixtures are built once, its tests keep their order);
  - modules that share an expensive session fixture form one group, named after it (SHARED_STATE_FIXTURES:
    the e2e stack's seeded source and DAG-run history, the ML stack), so it is built once;
  - an explicit `pytest.mark.xdist_group("name")` wins.
Groups holding e2e tests, or modules that raise their timeout, are handed out first (they are the long poles).
A test marked `serial` runs alone: while it runs (fixtures included) no other worker of the run is inside a test.
Use it for a test that asserts on machine-wide state another test changes, e.g. that a killed cloud's orphaned
job is still alive until reaped (any cloud another worker starts reaps it)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from mwaa_local.cloud import process

# Session fixtures whose state several modules build on -> their group: every test using one runs on one worker.
SHARED_STATE_FIXTURES = {"etl": "e2e", "e2e_postgres": "e2e", "ml": "ml"}
WORKER_RUN_DIR_ENV = "MWAA_LOCAL_TEST_RUN_DIR"  # set by `./mwaa-local test`: per-worker folders go under it


GROUPS_FILE_ENV = "MWAA_LOCAL_TEST_GROUPS"  # the controller's file where a worker writes each test's group


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker (not a pytest a test starts, which inherits the variable)
        _isolate_worker(config, config.workerinput["workerid"])
    elif config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "loadgroup":
        config.pluginmanager.register(GroupScheduler(config), "mwaa-group-scheduler")


def _isolate_worker(config, worker: str) -> None:
    """Local state (.local: pid records, the dag_runner's Airflow home, deploy caches, ...) and AIRFLOW_HOME of
    this worker alone, set before any test imports Airflow."""
    parent = os.environ.get(WORKER_RUN_DIR_ENV)  # removed with its contents by `./mwaa-local test`
    folder = Path(tempfile.mkdtemp(prefix=f"{worker}-" if parent else f"mwaa-test-{worker}-", dir=parent))
    (folder / "state").mkdir()
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
    shared = [group for name, group in SHARED_STATE_FIXTURES.items() if name in item.fixturenames]
    return shared[0] if shared else item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """On a worker under --dist loadgroup: long poles first, and each test's group written for the controller.
    (xdist 3.8 marks groups by renaming node ids, which pytest 9 ignores; GroupScheduler reads this file instead.)"""
    groups_file = os.environ.get(GROUPS_FILE_ENV)
    if not getattr(config.option, "loadgroup", False) or not groups_file:
        return
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(_group(item), []).append(item)
    # A stable sort: collection order otherwise, the same on every worker (xdist checks that they agree).
    ordered = sorted(groups.items(), key=lambda group: not any(_long(i) for i in group[1]))
    items[:] = [item for _, members in ordered for item in members]
    written = Path(f"{groups_file}.{config.workerinput['workerid']}")
    written.write_text(json.dumps({item.nodeid: name for name, members in ordered for item in members}))
    written.replace(groups_file)  # atomic: every worker writes the same map


class GroupScheduler:
    """The controller's side: xdist's scope scheduler with our groups as its scopes (one group, one worker)."""

    def __init__(self, config):
        handle, path = tempfile.mkstemp(prefix="mwaa-test-groups-", suffix=".json")
        os.close(handle)
        os.environ[GROUPS_FILE_ENV] = path  # inherited by the workers, started after this
        config.add_cleanup(lambda: Path(path).unlink(missing_ok=True))
        self.path = Path(path)

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        from xdist.scheduler import LoadScopeScheduling

        path = self.path

        class Scheduling(LoadScopeScheduling):
            groups: dict[str, str] | None = None

            def _split_scope(self, nodeid: str) -> str:
                if self.groups is None:  # complete: asked only after the workers finished collecting
                    self.groups = json.loads(path.read_text() or "{}")
                return self.groups.get(nodeid, nodeid)

        return Scheduling(config, log)


def _long(item) -> bool:
    return item.get_closest_marker("e2e") is not None or item.get_closest_marker("timeout") is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """On xdist workers, every test (setup, call, teardown) holds the run's lock shared, a `serial` one exclusive."""
    workerinput = getattr(item.config, "workerinput", None)
    if workerinput is None:
        yield
        return
    with _run_lock(workerinput["testrunuid"], exclusive=item.get_closest_marker("serial") is not None):
        yield


@contextmanager
def _run_lock(run_id: str, exclusive: bool):
    """A readers-writer lock across the run's workers (flock). A turnstile, taken briefly by readers and held by a
    writer while it waits, keeps readers that arrive later from starving the writer."""
    folder = Path(os.environ.get(WORKER_RUN_DIR_ENV) or tempfile.gettempdir())
    with open(folder / f"mwaa-test-{run_id}.turnstile", "a") as turnstile, \
            open(folder / f"mwaa-test-{run_id}.lock", "a") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
