"""Training jobs through boto3: script mode really runs, with the container contract, logs, metrics, artifacts,
failures, stop and MaxRuntimeInSeconds as AWS reports them."""

from __future__ import annotations

import io
import os
import pickle
import signal

import joblib
import pytest
from botocore.exceptions import ClientError

from mwaa_local.cloud import jobs
from tests.cloud.redshift_data.conftest import assert_shape
from tests.cloud.sagemaker.conftest import job_name


def _shape(operation: str, response: dict) -> None:
    assert_shape(operation, response, service="sagemaker")


def test_script_mode_sklearn_trains_and_uploads_its_model(world):
    name = job_name("sklearn")
    created = world.sm.create_training_job(**world.training_config(name, "train_sklearn.py", {"C": 0.5,
                                                                                              "max_iter": 200}))
    _shape("CreateTrainingJob", created)
    described = world.wait(name)
    _shape("DescribeTrainingJob", described)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert described["TrainingStartTime"] <= described["TrainingEndTime"]
    assert described["BillableTimeInSeconds"] >= 1

    artifacts = described["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifacts == f"s3://{world.bucket}/output/{name}/output/model.tar.gz"
    files = world.untar(artifacts)
    assert list(files) == ["model.joblib"]
    model = joblib.load(io.BytesIO(files["model.joblib"]))
    assert model.C == 0.5 and model.max_iter == 200  # the hyperparameters reached the script as arguments
    assert "coef.npy" in world.untar(f"s3://{world.bucket}/output/{name}/output/output.tar.gz")

    lines = world.log_lines(name)
    auc_lines = [line for line in lines if line.startswith("validation-auc=")]
    assert len(auc_lines) == 1
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert metrics == {"validation:auc": pytest.approx(float(auc_lines[0].split("=")[1].rstrip(";")))}
    assert metrics["validation:auc"] > 0.8
    assert "train rows=400 hps={'C': 0.5, 'max_iter': 200}" in lines


def test_a_failing_script_reports_its_error_and_full_log(world):
    name = job_name("fails")
    world.sm.create_training_job(**world.training_config(name, "fails.py"))
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Failed" and described["SecondaryStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n")
    assert "ValueError: the data is bad" in reason and 'Command "python fails.py"' in reason
    # stdout and stderr are two pipes: both complete, in no guaranteed order between them
    assert sorted(world.log_lines(name)) == ["Traceback: ValueError: the data is bad", "about to fail"]
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == ""


def test_stop_kills_the_process_tree_and_keeps_the_saved_model(world):
    name = job_name("stop")
    world.sm.create_training_job(**world.training_config(name, "sleeps.py"))
    world.wait_for(name, "Training")
    world.wait_for_log(name, "sleeping")  # printed once its child runs and the model file is saved
    world.sm.stop_training_job(TrainingJobName=name)
    assert world.sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("Stopping", "Stopped")
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Stopped" and described["SecondaryStatus"] == "Stopped"
    assert "FailureReason" not in described
    assert world.untar(described["ModelArtifacts"]["S3ModelArtifacts"]) == {"partial.txt": b"saved before the stop"}
    assert not _job_processes(name)


def test_max_runtime_stops_the_job_as_aws_reports_it(world):
    name = job_name("maxrt")
    world.sm.create_training_job(**world.training_config(name, "sleeps.py",
                                                         StoppingCondition={"MaxRuntimeInSeconds": 3}))
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Stopped" and described["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert not _job_processes(name)


@pytest.mark.parametrize(("case", "expected"), [
    ("unknown image", "cannot run image 'my-account.dkr.ecr.us-east-1.amazonaws.com/my-own-algo:1'"),
    ("missing entry point", "entry point missing.py not found in the source directory"),
    ("not a tarball", "is not a valid tar.gz archive"),
    ("empty channel", "No S3 objects found under S3 URL"),
    ("rejected hyperparameter", "C must be positive, got -1.0"),
])
def test_bad_input_fails_the_job_with_a_reason(world, case, expected):
    name = job_name("bad")
    config = world.training_config(name, "train_sklearn.py")
    if case == "unknown image":
        config["AlgorithmSpecification"]["TrainingImage"] = "my-account.dkr.ecr.us-east-1.amazonaws.com/my-own-algo:1"
    elif case == "missing entry point":
        config["HyperParameters"]["sagemaker_program"] = '"missing.py"'
    elif case == "not a tarball":
        config["HyperParameters"]["sagemaker_submit_directory"] = f'"{world.upload("code/bad.tar.gz", b"plain")}"'
    elif case == "empty channel":
        config["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{world.bucket}/nothing/here/"
    else:
        config["HyperParameters"]["C"] = "-1"
    world.sm.create_training_job(**config)
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Failed"
    assert expected in described["FailureReason"]
    assert len(described["FailureReason"]) <= 1024
    assert not _job_processes(name)


def test_api_errors(world):
    with pytest.raises(ClientError) as raised:
        world.sm.describe_training_job(TrainingJobName="never-created")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    name = job_name("dup")
    world.sm.create_training_job(**world.training_config(name, "fails.py"))
    with pytest.raises(ClientError) as raised:
        world.sm.create_training_job(**world.training_config(name, "fails.py"))
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"
    world.wait(name)
    with pytest.raises(ClientError) as raised:
        world.sm.stop_training_job(TrainingJobName=name)
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_list_training_jobs_filters_sorts_and_pages(world):
    tag = job_name("list")
    names = [f"{tag}-{n}" for n in range(3)]
    for name in names:
        world.sm.create_training_job(**world.training_config(name, "fails.py"))
    for name in names:
        world.wait(name)
    listed = world.sm.list_training_jobs(NameContains=tag, SortBy="Name", SortOrder="Descending", MaxResults=2)
    _shape("ListTrainingJobs", listed)
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == names[::-1][:2]
    rest = world.sm.list_training_jobs(NameContains=tag, SortBy="Name", SortOrder="Descending", MaxResults=2,
                                       NextToken=listed["NextToken"])
    assert [s["TrainingJobName"] for s in rest["TrainingJobSummaries"]] == names[:1] and "NextToken" not in rest
    assert world.sm.list_training_jobs(NameContains=tag, StatusEquals="Completed")["TrainingJobSummaries"] == []


def _job_processes(name: str) -> list[int]:
    """Processes still carrying the job's marker (the runner marks every process a job starts)."""
    found = []
    marker = f"{jobs.MARKER_ENV}=sagemaker-training-{name}".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker in open(f"/proc/{entry}/environ", "rb").read().split(b"\0"):
                    found.append(int(entry))
            except OSError:
                pass
    return found


def test_pickle_free():  # the job state must persist: the dataclass pickles
    from mwaa_local.cloud.sagemaker.training import TrainingJob
    job = TrainingJob("a", "arn", {"AlgorithmSpecification": {}})
    job.set_secondary("Starting")
    assert pickle.loads(pickle.dumps(job)).transitions[0]["Status"] == "Starting"


def test_kill_9_leaves_an_in_flight_job_failed_and_no_process(tmp_path):
    from mwaa_local.cloud import process
    from tests.cloud.sagemaker.conftest import SageMakerWorld

    cloud = process.start(state_dir=tmp_path)
    try:
        world = SageMakerWorld(process.clients(cloud.endpoint_url))
        name = job_name("crash")
        world.sm.create_training_job(**world.training_config(name, "sleeps.py"))
        world.wait_for(name, "Training")
        world.wait_for_log(name, "sleeping")
    finally:
        cloud.stop(signal.SIGKILL)
    cloud = process.start(state_dir=tmp_path)
    try:
        world.sm = process.clients(cloud.endpoint_url)("sagemaker")
        described = world.sm.describe_training_job(TrainingJobName=name)
        assert described["TrainingJobStatus"] == "Failed"
        assert described["FailureReason"] == jobs.restart_error("training job")
        assert not _job_processes(name)
    finally:
        cloud.stop()
