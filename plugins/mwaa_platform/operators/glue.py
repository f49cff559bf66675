"""The Glue job operator the DAGs use: the Amazon provider's GlueJobOperator, made retry-safe by default and with
the script's own error in the task's failure.

Retry safety (one Glue run per task try, never two at once): the provider's `resume_glue_job_on_retry` tags every
run with `--airflow_task_uuid <dag:task:run:map_index>`; when a task is retried while its run is still STARTING or
RUNNING, the retry finds that run (GetJobRuns filtered by the tag) and waits for it instead of calling StartJobRun
again. Here it defaults to True. A retry after the run has ENDED starts a new run
(the job must be idempotent per data interval, as every task is).

Only the task instance's OWN run is ever resumed: the provider first looks in XCom (`xcom_pull` without
map_indexes), which returns another map index's run id when that is the only one pushed in the DAG run, so a
mapped task would wait on its sibling's run instead of starting its own. This operator looks the run up by its
tag alone (dag, task, DAG run and map index; GetJobRuns lists newest first).

The provider's module is imported on first use of `GlueJobOperator` (module __getattr__), so importing this
module stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GlueJobOperator", "run_failure_message", "with_script_location"]  # noqa: F822 - lazy, see __getattr__


def run_failure_message(glue_client: Any, job_name: str, run_id: str) -> str:
    """'Glue job J run R ended FAILED: ValueError: ...' from GetJobRun, for the task's exception."""
    try:
        run = glue_client.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    except Exception as exc:  # the original failure matters more than a failed lookup
        return f"Glue job {job_name} run {run_id} failed (its ErrorMessage could not be read: {exc})"
    error = run.get("ErrorMessage") or "no ErrorMessage reported; see the job's CloudWatch logs"
    return f"Glue job {job_name} run {run_id} ended {run.get('JobRunState')}: {error}"


def with_script_location(create_job_kwargs: dict | None, s3_script_location: str | None) -> dict | None:
    """A `Command` given without ScriptLocation (e.g. {'Name': 'pythonshell'}) gets the uploaded script's S3 path."""
    if not create_job_kwargs or not s3_script_location:
        return create_job_kwargs
    command = create_job_kwargs.get("Command")
    if command is None or command.get("ScriptLocation"):
        return create_job_kwargs
    return {**create_job_kwargs, "Command": {**command, "ScriptLocation": s3_script_location}}


def _build_operator() -> type:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator as ProviderGlueJobOperator
    from airflow.providers.common.compat.sdk import AirflowException

    class GlueJobOperator(ProviderGlueJobOperator):
        """The provider's GlueJobOperator, retry-safe by default, failing with the run's ErrorMessage."""

        def __init__(self, *, resume_glue_job_on_retry: bool = True, **kwargs: Any):
            super().__init__(resume_glue_job_on_retry=resume_glue_job_on_retry, **kwargs)

        @property
        def _hook_parameters(self) -> dict:
            params = super()._hook_parameters
            params["create_job_kwargs"] = with_script_location(params.get("create_job_kwargs"),
                                                               self.s3_script_location)
            return params

        def execute(self, context: Any) -> Any:
            try:
                if self.resume_glue_job_on_retry:
                    return self._execute_resuming_own_run(context)
                return super().execute(context)
            except AirflowException as exc:
                if not self._job_run_id:
                    raise
                raise AirflowException(run_failure_message(self.hook.conn, self.job_name, self._job_run_id)) from exc

        def _execute_resuming_own_run(self, context: Any) -> Any:
            script_args, task_uuid = self._prepare_script_args_with_task_uuid(context, base_args=self.script_args)
            if not self._job_run_id:
                try:
                    found = self._find_job_run_id_by_task_uuid(task_uuid)
                except Exception:  # as the provider: a failed lookup must not fail the task, it starts a run
                    self.log.warning("Could not look up the Glue runs of %s", task_uuid, exc_info=True)
                    found = None
                if found and found[1] in ("STARTING", "RUNNING"):
                    self.log.info("Resuming this task instance's Glue run %s (%s)", *found)
                    self._job_run_id = found[0]
                    context["ti"].xcom_push(key="glue_job_run_id", value=self._job_run_id)
            # the provider's own resume (the unscoped XCom lookup) is off; the run still carries the tag
            saved = self.script_args, self.resume_glue_job_on_retry
            self.script_args, self.resume_glue_job_on_retry = script_args, False
            try:
                return super().execute(context)
            finally:
                self.script_args, self.resume_glue_job_on_retry = saved

        def execute_complete(self, context: Any, event: dict | None = None) -> str:
            try:
                return super().execute_complete(context, event)
            except AirflowException as exc:
                run_id = (event or {}).get("run_id")
                if not run_id:
                    raise
                raise AirflowException(run_failure_message(self.hook.conn, self.job_name, run_id)) from exc

    GlueJobOperator.__module__ = __name__
    return GlueJobOperator


def __getattr__(name: str) -> Any:
    if name == "GlueJobOperator":
        operator = _build_operator()
        globals()[name] = operator
        return operator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
