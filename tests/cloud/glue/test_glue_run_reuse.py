"""The retry-safe GlueJobOperator resumes only its own task instance's run: a retry of the same task instance waits
on its running Glue run; another map index or another DAG run starts its own, even when XCom hands it a sibling's
run id (what Airflow 3's `xcom_pull` without map_indexes returns when one sibling has pushed). The same claim under
real Airflow (dag.test with a mapped task): tests/e2e/test_readme_claims.py."""

from __future__ import annotations

from mwaa_platform.operators import glue as platform_glue
from tests.cloud.glue.airflow_context import FakeTaskInstance, context
from tests.cloud.glue.conftest import SCRIPTS, unique, wait_file, wait_run, wait_state

ROLE = "arn:aws:iam::123456789012:role/glue"


def _operator(glue_bucket: str, job: str, pid_file) -> object:
    return platform_glue.GlueJobOperator(
        task_id="glue", job_name=job, script_location=str(SCRIPTS / "sleeps.py"), s3_bucket=glue_bucket,
        iam_role_arn=ROLE, aws_conn_id=None, replace_script_file=True, wait_for_completion=False,
        script_args={"--seconds": "120", "--pid_file": str(pid_file)},
        create_job_kwargs={"Command": {"Name": "pythonshell"}, "ExecutionProperty": {"MaxConcurrentRuns": 10}})


def _ti(run_id: str, map_index: int) -> FakeTaskInstance:
    ti = FakeTaskInstance(run_id=run_id)
    ti.map_index = map_index
    return ti


def test_only_the_same_task_instance_resumes_a_running_glue_run(aws, glue_bucket, tmp_path):
    glue, job = aws("glue"), unique("reuse")
    first_ti = _ti("manual__1", 0)
    first = _operator(glue_bucket, job, tmp_path / "pid0").execute(context(first_ti))
    wait_file(tmp_path / "pid0")
    wait_state(glue, job, first, "RUNNING")
    try:
        sibling_ti = _ti("manual__1", 1)
        sibling_ti.xcom["glue_job_run_id"] = first  # Airflow's unscoped xcom_pull hands a mapped task its sibling's
        sibling = _operator(glue_bucket, job, tmp_path / "pid1").execute(context(sibling_ti))
        other_run = _operator(glue_bucket, job, tmp_path / "pid2").execute(context(_ti("manual__2", 0)))
        assert len({first, sibling, other_run}) == 3, "another map index or DAG run took over a running Glue run"

        first_ti.retry()
        assert _operator(glue_bucket, job, tmp_path / "pid0").execute(context(first_ti)) == first

        tags = {r["Id"]: r["Arguments"]["--airflow_task_uuid"] for r in glue.get_job_runs(JobName=job)["JobRuns"]}
        assert tags == {first: "glue_dag:glue_task:manual__1:0", sibling: "glue_dag:glue_task:manual__1:1",
                        other_run: "glue_dag:glue_task:manual__2:0"}
    finally:
        active = [r["Id"] for r in glue.get_job_runs(JobName=job)["JobRuns"] if r["JobRunState"] in
                  ("STARTING", "RUNNING")]
        if active:
            glue.batch_stop_job_run(JobName=job, JobRunIds=active)
        for run_id in active:
            wait_run(glue, job, run_id)
