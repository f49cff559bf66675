"""Glue job runs: their state (persisted), the thread that runs each one, Stop, Timeout and MaxConcurrentRuns.
Job definitions stay in moto's glue backend (CreateJob/GetJob go to moto); UpdateJob changes them in-process."""

from __future__ import annotations

import dataclasses
import logging
import math
import secrets
import shutil
import threading
import time
from typing import Any

from mwaa_local.cloud import jobs
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.glue import arguments as args_mod
from mwaa_local.cloud.glue import runner
from mwaa_local.cloud.glue.backends import mutating, reading
from mwaa_local.cloud.glue.exceptions import ConcurrentRunsExceeded, EntityNotFound, InvalidInput
from mwaa_local.cloud.glue.logs import LogWriter, log_group_prefix
from mwaa_local.cloud.service import ValidationException

log = logging.getLogger(__name__)

STATE = "glue.job_runs"
ACTIVE = ("STARTING", "RUNNING", "STOPPING", "WAITING")
TERMINAL = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR")
SUPPORTED_COMMANDS = ("pythonshell", "glueetl")



@dataclasses.dataclass
class JobRun:
    id: str
    job_name: str
    arguments: dict[str, str]
    command_name: str
    timeout: int
    started_on: float
    state: str = "STARTING"
    last_modified_on: float = 0.0
    completed_on: float | None = None
    running_since: float | None = None
    error_message: str | None = None
    attempt: int = 0
    previous_run_id: str | None = None
    pid: int | None = None
    glue_version: str | None = None
    worker_type: str | None = None
    number_of_workers: int | None = None
    max_capacity: float | None = None

    @property
    def log_group(self) -> str:
        return log_group_prefix(self.command_name)

    @property
    def execution_time(self) -> int:
        if self.running_since is None:
            return 0
        return math.ceil((self.completed_on or time.time()) - self.running_since)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "Id": self.id, "Attempt": self.attempt, "JobName": self.job_name, "JobMode": "SCRIPT",
            "StartedOn": self.started_on, "LastModifiedOn": self.last_modified_on or self.started_on,
            "JobRunState": self.state, "Arguments": self.arguments, "PredecessorRuns": [],
            "ExecutionTime": self.execution_time, "Timeout": self.timeout, "LogGroupName": self.log_group,
            "ExecutionClass": "STANDARD",
        }
        optional = {"CompletedOn": self.completed_on, "ErrorMessage": self.error_message,
                    "PreviousRunId": self.previous_run_id, "GlueVersion": self.glue_version,
                    "WorkerType": self.worker_type, "NumberOfWorkers": self.number_of_workers,
                    "MaxCapacity": self.max_capacity}
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


def new_run_id() -> str:
    return "jr_" + secrets.token_hex(32)


class JobRuns:
    def __init__(self, context: CloudContext):
        self.context = context
        self.runs: dict[str, JobRun] = {}
        self._stops: dict[str, threading.Event] = {}  # StopJobRun before the process exists
        self._jobs: dict[str, jobs.Job] = {}
        context.store.register(STATE, self._snapshot, self._restore)
        context.store.register_recovery(STATE, self._recover)
        jobs.reap_orphans()  # job processes of any cloud that died by kill -9

    # -- persistence ------------------------------------------------------------------------------------------
    def _snapshot(self) -> list[dict]:
        return [dataclasses.asdict(run) for run in self.runs.values()]

    def _restore(self, saved: list[dict]) -> None:
        self.runs = {item["id"]: JobRun(**item) for item in saved}

    def _recover(self) -> bool:
        """Runs active when the cloud died: their watcher died with it. FAILED (not ERROR: the provider's synchronous
        wait only stops polling on FAILED/TIMEOUT/SUCCEEDED/STOPPED), and whatever their scripts left running is
        killed (the main process already died with the cloud, see jobs.py)."""
        interrupted = [run for run in self.runs.values() if run.state in ACTIVE]
        if not interrupted:
            return False
        jobs.kill_leftovers(run.id for run in interrupted)
        now, message = time.time(), jobs.restart_error("job run")
        for run in interrupted:
            run.state, run.error_message, run.completed_on, run.last_modified_on, run.pid = (
                "FAILED", message, now, now, None)
            err = LogWriter(self.context.store, f"{run.log_group}/error", run.id, self.context.region)
            err.write(message)
            err.flush()
            shutil.rmtree(self.context.data_dir("glue") / "runs" / run.id, ignore_errors=True)
        return True

    def _save(self) -> None:
        self.context.store.save(STATE)

    def _set(self, run: JobRun, **changes: Any) -> None:
        with self.context.store.mutation(STATE):
            for key, value in changes.items():
                setattr(run, key, value)
            run.last_modified_on = time.time()

    # -- API --------------------------------------------------------------------------------------------------
    def job_definition(self, job_name: str) -> Any:
        job = reading("glue", self.context.region).jobs.get(job_name)
        if job is None:
            raise EntityNotFound(f"Job {job_name} not found")  # the message Glue gives
        return job

    def start(self, job_name: str, arguments: dict | None = None, timeout: int | None = None,
              previous_run_id: str | None = None, worker_type: str | None = None,
              number_of_workers: int | None = None, max_capacity: float | None = None) -> JobRun:
        job = self.job_definition(job_name)
        command = dict(job.command or {})
        if not command.get("ScriptLocation"):
            raise ValidationException(f"Job {job_name} has no Command.ScriptLocation")
        if timeout is not None and timeout < 1:
            raise ValidationException("Timeout must be at least 1 minute")
        limit = int((job.execution_property or {}).get("MaxConcurrentRuns") or 1)
        with self.context.store.mutation(STATE):
            active = [r for r in self.runs.values() if r.job_name == job_name and r.state in ACTIVE]
            if len(active) >= limit:
                raise ConcurrentRunsExceeded(
                                   f"Concurrent runs exceeded for {job_name}: {len(active)} of {limit} "
                                   f"allowed runs are active ({', '.join(r.id for r in active)})")
            now = time.time()
            run = JobRun(id=new_run_id(), job_name=job_name, arguments=dict(arguments or {}),
                         command_name=command.get("Name") or "glueetl",
                         timeout=int(timeout or job.timeout or args_mod.DEFAULT_TIMEOUT_MINUTES),
                         started_on=now, last_modified_on=now, previous_run_id=previous_run_id,
                         glue_version=job.glue_version, worker_type=worker_type or job.worker_type,
                         number_of_workers=number_of_workers or job.number_of_workers,
                         max_capacity=max_capacity if max_capacity is not None else job.max_capacity)
            self.runs[run.id] = run
            self._stops[run.id] = threading.Event()
        resolved = args_mod.resolved_arguments(job.default_arguments, run.arguments, job.non_overridable_arguments)
        threading.Thread(target=self._execute, args=(run, command, resolved), daemon=True,
                         name=f"glue-{run.id[:12]}").start()
        return run

    def get(self, job_name: str, run_id: str) -> JobRun:
        run = self.runs.get(run_id)
        if run is None or run.job_name != job_name:
            raise EntityNotFound(f"Job run {run_id} of job {job_name} not found")
        return run

    def of_job(self, job_name: str) -> list[JobRun]:
        """Newest first, as GetJobRuns returns them."""
        self.job_definition(job_name)
        return sorted((r for r in self.runs.values() if r.job_name == job_name), key=lambda r: -r.started_on)

    def stop(self, job_name: str, run_id: str) -> None:
        run = self.get(job_name, run_id)
        with self.context.store.mutation(STATE):
            if run.state not in ACTIVE:
                raise InvalidInput(f"Job run {run_id} is {run.state}, not running")
            run.state, run.last_modified_on = "STOPPING", time.time()
            self._stops.setdefault(run_id, threading.Event()).set()
            job = self._jobs.get(run_id)
            if job is not None:
                job.stop()

    # -- the run itself ---------------------------------------------------------------------------------------
    def _execute(self, run: JobRun, command: dict, resolved: dict[str, str]) -> None:
        """Stages and starts the run (in its own thread: StartJobRun answers at once); the job's on_exit ends it."""
        workspace = self.context.data_dir("glue") / "runs" / run.id
        store, region = self.context.store, self.context.region
        out = LogWriter(store, f"{run.log_group}/output", run.id, region)
        err = LogWriter(store, f"{run.log_group}/error", run.id, region)
        try:
            started = self._launch(run, command, resolved, workspace, out, err)
        except Exception as exc:  # never leave a run active because of a bug of ours
            log.exception("glue run %s crashed", run.id)
            err.write(f"local cloud error: {exc}")
            self._finish(run, "ERROR", f"Internal error in the local cloud: {exc}")
            started = False
        if not started:
            self._cleanup(run, workspace, out, err)

    def _cleanup(self, run: JobRun, workspace, out: LogWriter, err: LogWriter) -> None:
        for writer in (out, err):
            try:
                writer.flush()
            except Exception:
                log.exception("could not write the logs of %s", run.id)
        shutil.rmtree(workspace, ignore_errors=True)
        self._stops.pop(run.id, None)
        self._jobs.pop(run.id, None)

    def _finish(self, run: JobRun, state: str, error: str | None = None) -> None:
        now = time.time()
        self._set(run, state=state, error_message=error, completed_on=now, pid=None)

    def _prepare(self, run: JobRun, command: dict, resolved: dict[str, str], workspace):
        name = run.command_name
        if name not in SUPPORTED_COMMANDS:
            raise runner.RunError(f"Command.Name {name!r} is not supported by the local cloud "
                                  f"(supported: {', '.join(SUPPORTED_COMMANDS)})")
        if name == "glueetl" and not args_mod.pyspark_available():
            raise runner.RunError("glueetl jobs need a local PySpark, and pyspark is not installed in the local "
                                  "cloud's Python; install pyspark, or use Command.Name 'pythonshell'")
        missing = args_mod.missing_modules(resolved.get("--additional-python-modules"))
        if missing:
            raise runner.RunError("--additional-python-modules not available in the local Python: "
                                  + ", ".join(missing))
        extra = args_mod.split_list(resolved.get("--extra-py-files"))
        return runner.stage(self.context.s3, workspace, command["ScriptLocation"], extra)

    def _launch(self, run, command, resolved, workspace, out: LogWriter, err: LogWriter) -> bool:
        """Starts the script; False when the run ended here instead (bad input, stopped before it started)."""
        stop = self._stops[run.id]
        try:
            script, paths = self._prepare(run, command, resolved, workspace)
        except runner.RunError as exc:
            err.write(str(exc))
            self._finish(run, "FAILED", str(exc))
            return False
        spec = jobs.JobSpec(
            job_id=run.id, command=runner.command(script, args_mod.command_line(run.job_name, run.id, resolved)),
            cwd=workspace, env=runner.job_environment(self.context.endpoint_url, self.context.region, paths),
            timeout=args_mod.timeout_seconds(run.timeout), stdout=out, stderr=err,
            on_exit=lambda outcome: self._ended(run, outcome, workspace, out, err))
        with self.context.store.mutation(STATE):  # StopJobRun takes this lock too: it sees the job or stops it here
            if stop.is_set():
                run.state, run.completed_on = "STOPPED", time.time()
                return False
            try:
                job = jobs.start(spec)
            except jobs.JobStartError as exc:
                err.write(str(exc))
                run.state, run.error_message, run.completed_on = "FAILED", str(exc), time.time()
                return False
            self._jobs[run.id] = job
            run.state, run.pid, run.running_since = "RUNNING", job.pid, job.started
            run.last_modified_on = run.running_since
        return True

    def _ended(self, run: JobRun, outcome: jobs.Outcome, workspace, out: LogWriter, err: LogWriter) -> None:
        """The job's on_exit: its whole process group is gone and its output is in the log writers."""
        if outcome.stopped:
            state, error = "STOPPED", None
        elif outcome.timed_out:
            state, error = "TIMEOUT", (f"Job run timed out after {run.timeout} minutes (the job's Timeout); "
                                       "its process was stopped")
            err.write(error)
        elif outcome.returncode == 0:
            state, error = "SUCCEEDED", None
        else:
            state, error = "FAILED", args_mod.error_message(list(outcome.stderr_tail), outcome.returncode)
        try:
            for writer in (out, err):  # the logs are complete before the state says the run ended
                writer.flush()
        except Exception:
            log.exception("could not write the logs of %s", run.id)
        self._finish(run, state, error)
        self._cleanup(run, workspace, out, err)


# UpdateJob: JobUpdate key -> moto FakeJob attribute. Glue overwrites the whole definition with the update.
_JOB_FIELDS = {
    "Description": "description", "LogUri": "log_uri", "Role": "role", "ExecutionProperty": "execution_property",
    "Command": "command", "DefaultArguments": "default_arguments",
    "NonOverridableArguments": "non_overridable_arguments", "Connections": "connections",
    "MaxRetries": "max_retries", "AllocatedCapacity": "allocated_capacity", "Timeout": "timeout",
    "MaxCapacity": "max_capacity", "WorkerType": "worker_type", "NumberOfWorkers": "number_of_workers",
    "SecurityConfiguration": "security_configuration", "NotificationProperty": "notification_property",
    "GlueVersion": "glue_version", "CodeGenConfigurationNodes": "code_gen_configuration_nodes",
    "ExecutionClass": "execution_class", "SourceControlDetails": "source_control_details",
}
_ACCEPTED_IGNORED = ("JobMode", "JobRunQueuingEnabled", "MaintenanceWindow", "ProfileName")


def update_job(context: CloudContext, job_name: str, job_update: dict) -> None:
    unknown = sorted(set(job_update) - set(_JOB_FIELDS) - set(_ACCEPTED_IGNORED))
    if unknown:
        raise ValidationException(f"JobUpdate has unknown fields: {', '.join(unknown)}")
    if "Command" in job_update and not (job_update["Command"] or {}).get("ScriptLocation"):
        raise ValidationException("JobUpdate.Command needs a ScriptLocation")
    with mutating(context.store, "glue", context.region) as glue:
        job = glue.jobs.get(job_name)
        if job is None:
            raise EntityNotFound(f"Job {job_name} not found")
        for key, attribute in _JOB_FIELDS.items():
            value = job_update.get(key)
            if value is None and attribute in ("execution_property", "default_arguments"):
                value = {}
            if value is None and attribute == "execution_class":
                value = "STANDARD"
            setattr(job, attribute, value)
        from moto.core.utils import utcnow

        job.last_modified_on = utcnow()
