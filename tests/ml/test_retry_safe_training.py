"""RetrySafeSageMakerTrainingOperator against the local cloud's SageMaker: a retry never starts a second job while
the first one runs. An earlier try's job (the task's own name) that is InProgress is waited for (polling or
deferred) and its result returned; a Completed one is reused; after a Failed one the retry starts its own job."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from airflow.sdk.exceptions import TaskDeferred

from mwaa_platform.operators.sagemaker_training import RetrySafeSageMakerTrainingOperator
from tests.cloud.glue.airflow_context import FakeTaskInstance, context, run_deferred
from tests.cloud.sagemaker.conftest import SCRIPTS, SageMakerWorld, tar_gz

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent / "scripts"


@pytest.fixture
def world(aws):
    return SageMakerWorld(aws)


@pytest.fixture
def go_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("go")
    folder.chmod(0o777)  # the job's process may run as another user
    return folder / "go"


def _config(world: SageMakerWorld, name: str, script_path: Path, hyperparameters: dict | None = None) -> dict:
    source = world.upload(f"code/{uuid.uuid4().hex[:8]}/sourcedir.tar.gz",
                          tar_gz({script_path.name: script_path.read_bytes()}))
    config = world.training_config(name, "train_sklearn.py", hyperparameters)  # then pointed at script_path
    config["HyperParameters"].update(sagemaker_program=f'"{script_path.name}"', sagemaker_submit_directory=f'"{source}"')
    return config


def _operator(config: dict, deferrable: bool = False) -> RetrySafeSageMakerTrainingOperator:
    return RetrySafeSageMakerTrainingOperator(task_id="train", config=config, aws_conn_id=None, check_interval=1,
                                              print_log=False, wait_for_completion=True, deferrable=deferrable)


def _second_try() -> dict:
    ti = FakeTaskInstance(dag_id="ml_train", task_id="train", run_id="manual__retry")
    ti.retry()
    return context(ti)


def _jobs(world: SageMakerWorld, name: str) -> list[str]:
    return sorted(j["TrainingJobName"] for j in world.sm.list_training_jobs(NameContains=name)["TrainingJobSummaries"])


def _first_try_still_running(world, name, go_file) -> dict:
    config = _config(world, name, HERE / "waits_for_go.py", {"go_file": str(go_file)})
    world.sm.create_training_job(**config)  # the first try's job; that try died (worker lost) while it ran
    world.wait_for(name, "Training")
    return config


def test_a_retry_waits_for_the_running_job_instead_of_starting_another(world, go_file, monkeypatch):
    name = f"retry-run-{uuid.uuid4().hex[:8]}"
    config = _first_try_still_running(world, name, go_file)
    waited = []
    wait = RetrySafeSageMakerTrainingOperator._wait

    def wait_then_let_it_finish(self, job):
        waited.append((job, world.sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"]))
        go_file.touch()  # only now that the retry waits on it may the job complete
        return wait(self, job)

    monkeypatch.setattr(RetrySafeSageMakerTrainingOperator, "_wait", wait_then_let_it_finish)
    result = _operator(config).execute(_second_try())
    assert waited == [(name, "InProgress")]
    assert result["Training"]["TrainingJobName"] == name
    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert _jobs(world, name) == [name]  # one job: the retry started none


def test_a_deferrable_retry_defers_on_the_running_job(world, go_file):
    name = f"retry-defer-{uuid.uuid4().hex[:8]}"
    config = _first_try_still_running(world, name, go_file)
    operator, ctx = _operator(config, deferrable=True), _second_try()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(ctx)
    assert deferred.value.trigger.job_name == name
    assert _jobs(world, name) == [name]
    go_file.touch()
    result = run_deferred(operator, ctx, deferred.value)
    assert result["Training"]["TrainingJobName"] == name
    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert _jobs(world, name) == [name]


def test_a_retry_reuses_a_completed_job(world):
    name = f"retry-done-{uuid.uuid4().hex[:8]}"
    config = _config(world, name, SCRIPTS / "train_sklearn.py")
    world.sm.create_training_job(**config)
    assert world.wait(name)["TrainingJobStatus"] == "Completed"
    result = _operator(config).execute(_second_try())
    assert result["Training"]["TrainingJobName"] == name and result["Training"]["TrainingJobStatus"] == "Completed"
    assert _jobs(world, name) == [name]


def test_after_a_failed_job_the_retry_starts_its_own(world):
    name = f"retry-fail-{uuid.uuid4().hex[:8]}"
    world.sm.create_training_job(**_config(world, name, SCRIPTS / "fails.py"))
    assert world.wait(name)["TrainingJobStatus"] == "Failed"
    result = _operator(_config(world, name, SCRIPTS / "train_sklearn.py")).execute(_second_try())
    assert result["Training"]["TrainingJobName"] == f"{name}-t2"
    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert _jobs(world, name) == [name, f"{name}-t2"]
