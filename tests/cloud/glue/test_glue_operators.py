"""The Amazon provider's Glue operators against the local cloud, and the DAGs' retry-safe GlueJobOperator."""

from __future__ import annotations

import pytest
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator as ProviderGlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
from airflow.providers.common.compat.sdk import AirflowException
from airflow.sdk.exceptions import TaskDeferred

from mwaa_platform.operators import glue as platform_glue
from tests.cloud.glue.airflow_context import FakeTaskInstance, context, run_deferred
from tests.cloud.glue.conftest import SCRIPTS, unique, wait_file, wait_run, wait_state

ROLE = "arn:aws:iam::123456789012:role/glue"


def _operator(cls, glue_bucket: str, script: str, **kwargs):
    return cls(task_id="glue", job_name=kwargs.pop("job_name", unique("op")), script_location=str(SCRIPTS / script),
               s3_bucket=glue_bucket, iam_role_arn=ROLE, aws_conn_id=None, job_poll_interval=0.1,
               replace_script_file=True,
               create_job_kwargs={"Command": {"Name": "pythonshell", "ScriptLocation":
                                              f"s3://{glue_bucket}/artifacts/glue-scripts/{script}"}}, **kwargs)


def test_provider_operator_uploads_runs_and_waits(aws, glue_bucket, capsys):
    op = _operator(ProviderGlueJobOperator, glue_bucket, "echo_args.py", script_args={"--day": "2024-01-01"},
                   verbose=True)
    run_id = op.execute(context())
    run = aws("glue").get_job_run(JobName=op.job_name, RunId=run_id)["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"
    assert run["Arguments"] == {"--day": "2024-01-01"}
    assert '"--day", "2024-01-01"' in capsys.readouterr().out  # verbose=True: the job's stdout in the task log


def test_provider_operator_deferrable(aws, glue_bucket):
    op = _operator(ProviderGlueJobOperator, glue_bucket, "echo_args.py", deferrable=True, waiter_delay=1)
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    run_id = run_deferred(op, ctx, deferred.value)
    assert aws("glue").get_job_run(JobName=op.job_name, RunId=run_id)["JobRun"]["JobRunState"] == "SUCCEEDED"


def test_provider_deferrable_failure_carries_the_error(glue_bucket):
    op = _operator(ProviderGlueJobOperator, glue_bucket, "fails.py", deferrable=True, waiter_delay=1)
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    with pytest.raises(AirflowException, match="bad row 42: amount is negative"):
        run_deferred(op, ctx, deferred.value)


def test_platform_operator_fails_with_the_scripts_exception(glue_bucket):
    op = platform_glue.GlueJobOperator(
        task_id="glue", job_name=unique("op"), script_location=str(SCRIPTS / "fails.py"), s3_bucket=glue_bucket,
        iam_role_arn=ROLE, aws_conn_id=None, job_poll_interval=0.1, replace_script_file=True,
        create_job_kwargs={"Command": {"Name": "pythonshell"}})  # ScriptLocation filled from the upload
    with pytest.raises(AirflowException, match=r"ended FAILED: ValueError: bad row 42: amount is negative"):
        op.execute(context())


def test_platform_operator_deferrable_failure(glue_bucket):
    op = platform_glue.GlueJobOperator(
        task_id="glue", job_name=unique("op"), script_location=str(SCRIPTS / "fails.py"), s3_bucket=glue_bucket,
        iam_role_arn=ROLE, aws_conn_id=None, replace_script_file=True, deferrable=True, waiter_delay=1,
        create_job_kwargs={"Command": {"Name": "pythonshell"}})
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    with pytest.raises(AirflowException, match=r"ended FAILED: ValueError: bad row 42"):
        run_deferred(op, ctx, deferred.value)


def test_retry_while_the_run_is_going_reuses_it(aws, glue_bucket, tmp_path):
    """Retry safety: a retried task whose run is still RUNNING waits for that run; it never starts a second."""
    glue = aws("glue")
    pid_file = tmp_path / "pid"
    op = platform_glue.GlueJobOperator(
        task_id="glue", job_name=unique("retry"), script_location=str(SCRIPTS / "sleeps.py"), s3_bucket=glue_bucket,
        iam_role_arn=ROLE, aws_conn_id=None, replace_script_file=True, wait_for_completion=False,
        script_args={"--seconds": "60", "--pid_file": str(pid_file)},
        create_job_kwargs={"Command": {"Name": "pythonshell"}, "ExecutionProperty": {"MaxConcurrentRuns": 5}})
    ti = FakeTaskInstance()
    first = op.execute(context(ti))
    wait_file(pid_file)
    wait_state(glue, op.job_name, first, "RUNNING")

    ti.retry()  # a new try: the first try's XComs are gone, the run is found through its --airflow_task_uuid
    op._job_run_id = None  # a retry gets a fresh operator instance
    assert op.execute(context(ti)) == first
    assert [r["Id"] for r in glue.get_job_runs(JobName=op.job_name)["JobRuns"]] == [first]

    glue.batch_stop_job_run(JobName=op.job_name, JobRunIds=[first])
    assert wait_run(glue, op.job_name, first)["JobRunState"] == "STOPPED"
    ti.retry()
    op._job_run_id = None
    second = op.execute(context(ti))  # the previous run is over: a retry runs the job again
    assert second != first
    glue.batch_stop_job_run(JobName=op.job_name, JobRunIds=[second])
    wait_run(glue, op.job_name, second)


def test_provider_default_is_not_retry_safe(aws, glue_bucket, tmp_path):
    """Why the DAGs use the platform operator: the provider's default starts a second run on retry."""
    glue = aws("glue")
    op = _operator(ProviderGlueJobOperator, glue_bucket, "sleeps.py", wait_for_completion=False,
                   script_args={"--seconds": "60", "--pid_file": str(tmp_path / "pid")},
                   job_name=unique("unsafe"))
    op.create_job_kwargs["ExecutionProperty"] = {"MaxConcurrentRuns": 5}
    ti = FakeTaskInstance()
    first = op.execute(context(ti))
    ti.retry()
    op._job_run_id = None
    second = op.execute(context(ti))
    assert second != first
    glue.batch_stop_job_run(JobName=op.job_name, JobRunIds=[first, second])
    for run_id in (first, second):
        wait_run(glue, op.job_name, run_id)


def test_crawler_operator_then_catalog(aws, glue_bucket):
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    s3, glue = aws("s3"), aws("glue")
    database = unique("opdb").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": database})
    for day in ("2024-03-01", "2024-03-02"):
        sink = io.BytesIO()
        pq.write_table(pa.table({"sku": ["a", "b"], "qty": pa.array([1, 2], pa.int32())}), sink)
        s3.put_object(Bucket=glue_bucket, Key=f"{database}/stock/dt={day}/p.parquet", Body=sink.getvalue())
    name = unique("opcrawler")
    config = {"Name": name, "Role": ROLE, "DatabaseName": database,
              "Targets": {"S3Targets": [{"Path": f"s3://{glue_bucket}/{database}/other/"}]}}
    GlueCrawlerOperator(task_id="crawl", config=config, poll_interval=1, aws_conn_id=None).execute(context())
    assert glue.get_tables(DatabaseName=database)["TableList"] == []  # nothing under other/
    config["Targets"] = {"S3Targets": [{"Path": f"s3://{glue_bucket}/{database}/"}]}  # changed: UpdateCrawler
    assert GlueCrawlerOperator(task_id="crawl", config=config, poll_interval=1, aws_conn_id=None).execute(
        context()) == name
    tables = glue.get_tables(DatabaseName=database)["TableList"]
    assert [t["Name"] for t in tables] == ["stock"]
    assert [(c["Name"], c["Type"]) for c in tables[0]["StorageDescriptor"]["Columns"]] == [
        ("sku", "string"), ("qty", "int")]
    partitions = glue.get_partitions(DatabaseName=database, TableName="stock")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [["2024-03-01"], ["2024-03-02"]]


def test_crawler_operator_deferrable_reports_a_failed_crawl(aws, glue_bucket):
    glue = aws("glue")
    aws("s3").put_object(Bucket=glue_bucket, Key="opfail/t/a.json", Body=b'{"a": 1}\n')
    name = unique("opcrawler")
    crawl = GlueCrawlerOperator(task_id="crawl", poll_interval=1, aws_conn_id=None, deferrable=True, config={
        "Name": name, "Role": ROLE, "DatabaseName": "missing_db_for_op",
        "Targets": {"S3Targets": [{"Path": f"s3://{glue_bucket}/opfail/"}]}})
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        crawl.execute(ctx)
    with pytest.raises(AirflowException):
        run_deferred(crawl, ctx, deferred.value)
    assert glue.get_crawler(Name=name)["Crawler"]["LastCrawl"]["Status"] == "FAILED"


# -- the plain functions of the platform operator ----------------------------------------------------------------
class _StubGlue:
    def __init__(self, run=None, error=None):
        self.run, self.error = run, error

    def get_job_run(self, JobName, RunId):  # noqa: N803 - boto3's names
        if self.error:
            raise self.error
        return {"JobRun": self.run}


def test_run_failure_message():
    message = platform_glue.run_failure_message(
        _StubGlue({"JobRunState": "TIMEOUT", "ErrorMessage": "timed out"}), "j", "jr_1")
    assert message == "Glue job j run jr_1 ended TIMEOUT: timed out"
    assert "see the job's CloudWatch logs" in platform_glue.run_failure_message(
        _StubGlue({"JobRunState": "FAILED"}), "j", "jr_1")
    assert "could not be read: boom" in platform_glue.run_failure_message(_StubGlue(error=OSError("boom")), "j", "r")


def test_with_script_location():
    assert platform_glue.with_script_location({"Command": {"Name": "pythonshell"}}, "s3://b/s.py") == {
        "Command": {"Name": "pythonshell", "ScriptLocation": "s3://b/s.py"}}
    given = {"Command": {"Name": "pythonshell", "ScriptLocation": "s3://b/other.py"}}
    assert platform_glue.with_script_location(given, "s3://b/s.py") is given
    assert platform_glue.with_script_location(None, "s3://b/s.py") is None
    assert platform_glue.with_script_location({"Timeout": 5}, "s3://b/s.py") == {"Timeout": 5}
