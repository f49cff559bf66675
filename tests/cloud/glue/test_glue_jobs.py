"""boto3 conformance of the Glue job-run operations: the script really runs in the local cloud."""

from __future__ import annotations

import json

import pytest

from tests.cloud.glue.conftest import log_messages, pid_alive, wait_file, wait_run, wait_state


def test_run_passes_arguments_as_glue_does_and_logs_stdout(aws, make_job):
    glue = aws("glue")
    job = make_job("echo_args.py", DefaultArguments={"--a": "default", "--b": "kept"},
                   NonOverridableArguments={"--c": "fixed"})
    run_id = glue.start_job_run(JobName=job, Arguments={"--a": "run", "--c": "ignored"})["JobRunId"]
    assert run_id.startswith("jr_") and len(run_id) == 67
    run = wait_run(glue, job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["Arguments"] == {"--a": "run", "--c": "ignored"}  # what the caller passed, as AWS reports it
    assert run["Id"] == run_id and run["JobName"] == job and run["Attempt"] == 0
    assert run["StartedOn"] <= run["CompletedOn"] and run["ExecutionTime"] >= 0
    assert run["LogGroupName"] == "/aws-glue/python-jobs" and run["Timeout"] == 2880
    output = log_messages(aws("logs"), "/aws-glue/python-jobs/output", run_id)
    argv = json.loads(output[0])
    assert argv[:4] == ["--JOB_NAME", job, "--JOB_RUN_ID", run_id]
    pairs = dict(zip(argv[4::2], argv[5::2], strict=True))
    assert pairs == {"--a": "run", "--b": "kept", "--c": "fixed"}
    assert output[1] == "helper: missing"


def test_extra_py_files_are_importable(aws, make_job, glue_bucket):
    aws("s3").put_object(Bucket=glue_bucket, Key="libs/helper_lib.py", Body=b"VALUE = 'from s3'\n")
    job = make_job("echo_args.py", DefaultArguments={"--extra-py-files": f"s3://{glue_bucket}/libs/helper_lib.py"})
    run_id = aws("glue").start_job_run(JobName=job)["JobRunId"]
    assert wait_run(aws("glue"), job, run_id)["JobRunState"] == "SUCCEEDED"
    assert "helper: from s3" in log_messages(aws("logs"), "/aws-glue/python-jobs/output", run_id)


def test_failing_script_reports_its_exception(aws, make_job):
    glue = aws("glue")
    job = make_job("fails.py")
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_run(glue, job, run_id)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: bad row 42: amount is negative"
    errors = log_messages(aws("logs"), "/aws-glue/python-jobs/error", run_id)
    assert errors[0].startswith("Traceback") and errors[-1] == "ValueError: bad row 42: amount is negative"
    assert log_messages(aws("logs"), "/aws-glue/python-jobs/output", run_id) == ["about to fail"]


def test_missing_script_fails_the_run_clearly(aws, glue_bucket):
    glue = aws("glue")
    glue.create_job(Name="no-script-job", Role="r",
                    Command={"Name": "pythonshell", "ScriptLocation": f"s3://{glue_bucket}/nowhere/x.py"})
    run = wait_run(glue, "no-script-job", glue.start_job_run(JobName="no-script-job")["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert f"ScriptLocation s3://{glue_bucket}/nowhere/x.py not found" in run["ErrorMessage"]


def test_missing_additional_python_modules_are_named(aws, make_job):
    job = make_job("echo_args.py", DefaultArguments={
        "--additional-python-modules": "pandas,surely-not-installed-pkg==1.0,pyarrow<1"})
    run = wait_run(aws("glue"), job, aws("glue").start_job_run(JobName=job)["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert "surely-not-installed-pkg==1.0" in run["ErrorMessage"]
    assert "pyarrow<1 (installed:" in run["ErrorMessage"]
    assert "pandas," not in run["ErrorMessage"]  # installed ones are not blamed


def test_glueetl_without_pyspark_fails_saying_what_is_missing(aws, make_job):
    import importlib.util

    if importlib.util.find_spec("pyspark"):
        pytest.skip("pyspark is installed: glueetl runs")
    job = make_job("echo_args.py", command="glueetl")
    run = wait_run(aws("glue"), job, aws("glue").start_job_run(JobName=job)["JobRunId"])
    assert run["JobRunState"] == "FAILED"
    assert "pyspark is not installed" in run["ErrorMessage"]
    assert run["LogGroupName"] == "/aws-glue/jobs"


def test_unknown_job_and_run(aws, make_job):
    glue = aws("glue")
    with pytest.raises(glue.exceptions.EntityNotFoundException, match="Job no-such-job not found"):
        glue.start_job_run(JobName="no-such-job")
    job = make_job("echo_args.py")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_job_run(JobName=job, RunId="jr_" + "0" * 64)
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_job_runs(JobName="no-such-job")


def test_max_concurrent_runs_and_batch_stop(aws, make_job, tmp_path):
    glue = aws("glue")
    job = make_job("sleeps.py", ExecutionProperty={"MaxConcurrentRuns": 1})
    pid_file = tmp_path / "pid"
    run_id = glue.start_job_run(JobName=job, Arguments={"--seconds": "120", "--pid_file": str(pid_file)})["JobRunId"]
    pid = int(wait_file(pid_file))
    assert wait_state(glue, job, run_id, "RUNNING")["JobRunState"] == "RUNNING"
    with pytest.raises(glue.exceptions.ConcurrentRunsExceededException, match="Concurrent runs exceeded"):
        glue.start_job_run(JobName=job, Arguments={"--seconds": "1", "--pid_file": str(tmp_path / "2")})
    response = glue.batch_stop_job_run(JobName=job, JobRunIds=[run_id, "jr_unknown"])
    assert response["SuccessfulSubmissions"] == [{"JobName": job, "JobRunId": run_id}]
    assert response["Errors"][0]["JobRunId"] == "jr_unknown"
    assert response["Errors"][0]["ErrorDetail"]["ErrorCode"] == "EntityNotFoundException"
    run = wait_run(glue, job, run_id)
    assert run["JobRunState"] == "STOPPED"
    assert not pid_alive(pid)
    again = glue.batch_stop_job_run(JobName=job, JobRunIds=[run_id])  # already over
    assert again["Errors"][0]["ErrorDetail"]["ErrorCode"] == "InvalidInputException"


def test_get_job_runs_newest_first_and_paged(aws, make_job):
    glue = aws("glue")
    job = make_job("echo_args.py", ExecutionProperty={"MaxConcurrentRuns": 5})
    ids = [glue.start_job_run(JobName=job, Arguments={"--n": str(i)})["JobRunId"] for i in range(3)]
    for run_id in ids:
        wait_run(glue, job, run_id)
    first = glue.get_job_runs(JobName=job, MaxResults=2)
    assert [r["Id"] for r in first["JobRuns"]] == ids[::-1][:2]
    second = glue.get_job_runs(JobName=job, MaxResults=2, NextToken=first["NextToken"])
    assert [r["Id"] for r in second["JobRuns"]] == [ids[0]] and "NextToken" not in second


def test_update_job_overwrites_the_definition(aws, make_job, glue_bucket):
    glue = aws("glue")
    job = make_job("echo_args.py", DefaultArguments={"--old": "1"}, Description="before")
    location = glue.get_job(JobName=job)["Job"]["Command"]["ScriptLocation"]
    assert glue.update_job(JobName=job, JobUpdate={
        "Role": "r2", "Command": {"Name": "pythonshell", "ScriptLocation": location},
        "DefaultArguments": {"--new": "2"}, "Timeout": 5})["JobName"] == job
    updated = glue.get_job(JobName=job)["Job"]
    assert updated["DefaultArguments"] == {"--new": "2"} and updated["Timeout"] == 5
    assert updated["Role"] == "r2" and not updated.get("Description")  # not in the update: reset, as on AWS
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_run(glue, job, run_id)
    assert run["Timeout"] == 5
    argv = json.loads(log_messages(aws("logs"), "/aws-glue/python-jobs/output", run_id)[0])
    assert "--new" in argv and "--old" not in argv
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.update_job(JobName="no-such-job", JobUpdate={"Role": "r"})
    with pytest.raises(glue.exceptions.ClientError, match="ScriptLocation"):
        glue.update_job(JobName=job, JobUpdate={"Command": {"Name": "pythonshell"}})


def test_bad_start_parameters(aws, make_job):
    glue = aws("glue")
    job = make_job("echo_args.py")
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.start_job_run(JobName=job, AllocatedCapacity=2, MaxCapacity=1.0)
