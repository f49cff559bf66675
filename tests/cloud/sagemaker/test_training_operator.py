"""The Amazon provider's SageMakerTrainingOperator against the local cloud: print_log=True prints the job's log from
CloudWatch Logs, deferrable=True completes through the provider's trigger, failures raise with the reason."""

from __future__ import annotations

import pytest
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
from airflow.providers.common.compat.sdk import AirflowException
from airflow.sdk.exceptions import TaskDeferred

from tests.cloud.glue.airflow_context import context, run_deferred
from tests.cloud.sagemaker.conftest import job_name


def _operator(config: dict, **kwargs) -> SageMakerTrainingOperator:
    return SageMakerTrainingOperator(task_id="train", config=config, aws_conn_id=None, check_interval=1,
                                     wait_for_completion=True, **kwargs)


def test_print_log_prints_the_job_log_and_returns_the_description(world, capfd):
    name = job_name("op-log")
    operator = _operator(world.training_config(name, "train_sklearn.py", {"C": 2}), print_log=True,
                         action_if_job_exists="fail")
    result = operator.execute(context())
    described = world.sm.describe_training_job(TrainingJobName=name)
    assert described["TrainingJobStatus"] == "Completed"
    assert result["Training"]["TrainingJobName"] == name
    printed = "".join(capfd.readouterr())  # the task log (structlog writes to the process's stdout)
    assert "validation-auc=" in printed and "train rows=400 hps={'C': 2}" in printed


def test_deferrable_completes_through_the_trigger(world, tmp_path):
    name = job_name("op-defer")
    gate = tmp_path / "go"  # the job trains only once this exists: still InProgress when the operator looks
    config = world.training_config(name, "train_after_gate.py", {"gate": gate}, also=("train_sklearn.py",))
    operator = _operator(config, deferrable=True, action_if_job_exists="fail")
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(ctx)
    gate.touch()
    result = run_deferred(operator, ctx, deferred.value)
    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert result["Training"]["FinalMetricDataList"][0]["MetricName"] == "validation:auc"  # it really trained


def test_a_failed_job_fails_the_task_with_its_reason(world):
    name = job_name("op-fail")
    operator = _operator(world.training_config(name, "fails.py"), print_log=False, action_if_job_exists="fail")
    with pytest.raises(AirflowException, match="the data is bad"):
        operator.execute(context())


def test_an_existing_name_gets_a_timestamp_suffix(world):
    name = job_name("op-again")
    world.sm.create_training_job(**world.training_config(name, "fails.py"))
    world.wait(name)
    operator = _operator(world.training_config(name, "train_sklearn.py"), print_log=False)
    result = operator.execute(context())
    renamed = result["Training"]["TrainingJobName"]
    assert renamed.startswith(f"{name}-") and renamed != name
    assert result["Training"]["TrainingJobStatus"] == "Completed"
