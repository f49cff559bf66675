"""What every asynchronous SageMaker job kind (training, processing, transform) shares: its records persisted
through the state store, crash recovery (in flight -> Failed with the restart error, leftover processes killed),
lookup, unique names, starting the job's thread and Stop."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import shutil
import threading
from typing import Any

from mwaa_local.cloud import jobs
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.sagemaker.exceptions import ResourceInUse, ValidationException, not_found

log = logging.getLogger(__name__)

ACTIVE = ("InProgress", "Stopping")
FAILURE_REASON_LIMIT = 1024  # AWS cuts FailureReason here


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass
class JobRecord:
    """A processing or transform job as Describe* reports it (training adds its secondary statuses)."""

    name: str
    arn: str
    request: dict[str, Any]
    status: str = "InProgress"
    failure_reason: str | None = None
    created: dt.datetime = dataclasses.field(default_factory=now)
    last_modified: dt.datetime = dataclasses.field(default_factory=now)
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    stop_requested: bool = False

    def finish(self, status: str, reason: str | None = None) -> None:
        self.status, self.ended, self.last_modified = status, now(), now()
        if reason:
            self.failure_reason = reason[:FAILURE_REASON_LIMIT]


class JobFailed(Exception):
    """Ends the job Failed with this message as its FailureReason (Stopped when a stop was requested)."""


class JobStore:
    """Subclasses set STATE (snapshot name), KIND ('training job'), ARN_KIND ('training-job'), FOLDER, and define
    `_execute(job, folder)` (the work and its conclusion, in the job's own thread; raises JobFailed),
    `_new(name, arn, request)`, and may refine `_end(job, status, reason)` and `_restart_failed(job, message)`."""

    STATE = ""
    KIND = ""
    ARN_KIND = ""
    FOLDER = ""

    def __init__(self, context: CloudContext):
        self.context = context
        self.jobs: dict[str, Any] = {}
        self._running: dict[str, jobs.Job] = {}
        self._lock = threading.RLock()
        self.workspace = context.data_dir("sagemaker") / self.FOLDER
        context.store.register(self.STATE, self._snapshot, self._restore)
        context.store.register_recovery(self.STATE, self._recover)

    # ---- durability ----------------------------------------------------------------------------------------

    def _snapshot(self) -> dict:
        with self._lock:
            return copy.deepcopy(self.jobs)

    def _restore(self, saved: dict) -> None:
        with self._lock:
            self.jobs = saved

    def _recover(self) -> bool:
        """Jobs in flight when the cloud died read Failed; their processes (if any survived) are killed."""
        with self._lock:
            interrupted = [job for job in self.jobs.values() if job.status in ACTIVE]
            for job in interrupted:
                self._restart_failed(job, jobs.restart_error(self.KIND))
        jobs.kill_leftovers(self.job_id(job.name) for job in interrupted)
        shutil.rmtree(self.workspace, ignore_errors=True)
        return bool(interrupted)

    def _save(self) -> None:
        try:
            self.context.store.save(self.STATE)
        except Exception:
            log.exception("could not persist SageMaker %ss", self.KIND)

    def job_id(self, name: str) -> str:
        """Marks the job's processes (see jobs.kill_leftovers)."""
        return f"sagemaker-{self.FOLDER}-{name}"

    # ---- API -----------------------------------------------------------------------------------------------

    def _add(self, name: str, request: dict):
        """Records a new job (unique name) and starts its thread."""
        with self.context.store.mutation(self.STATE), self._lock:
            if name in self.jobs:
                raise ResourceInUse(f"Job names must be unique within an AWS account and region, and a "
                                    f"{self.KIND} with this name already exists ({self.jobs[name].arn})")
            arn = f"arn:aws:sagemaker:{self.context.region}:{self.context.account_id}:{self.ARN_KIND}/{name.lower()}"
            job = self.jobs[name] = self._new(name, arn, copy.deepcopy(request))
        threading.Thread(target=self._run, args=(job,), daemon=True, name=f"{self.FOLDER}-{name[:40]}").start()
        return job

    def get(self, name: str):
        with self._lock:
            if name not in self.jobs:
                raise not_found(self.KIND, name)
            return self.jobs[name]

    def list(self) -> list:
        with self._lock:
            return list(self.jobs.values())

    def stop(self, name: str) -> None:
        with self.context.store.mutation(self.STATE), self._lock:
            job = self.get(name)
            if job.status != "InProgress":
                raise ValidationException(f"The request was rejected because the {self.KIND} is in status "
                                          f"{job.status}.")
            job.stop_requested = True
            self._stopping(job)
            running = self._running.get(name)
        if running is not None:
            running.stop()

    def _stopping(self, job) -> None:
        job.status = "Stopping"

    # ---- running -------------------------------------------------------------------------------------------

    def _run(self, job) -> None:
        """The job's thread: whatever way `_execute` ends, the job ends with a status, is saved, and its folder goes."""
        folder = self.workspace / job.name
        try:
            self._execute(job, folder)
        except JobFailed as exc:
            with self._lock:
                self._end(job, "Stopped") if job.stop_requested else self._end(job, "Failed", str(exc))
        except Exception as exc:  # a bug of ours still ends the job, with the reason
            log.exception("%s %s", self.KIND, job.name)
            with self._lock:
                self._end(job, "Failed", f"InternalServerError: the local cloud failed to run the job: {exc}")
        finally:
            with self._lock:
                self._running.pop(job.name, None)
            self._save()
            shutil.rmtree(folder, ignore_errors=True)

    def _start_and_wait(self, job, spec: jobs.JobSpec) -> jobs.Outcome:
        """Starts the job's process unless a stop came first, and waits for it (Stop kills it meanwhile)."""
        with self._lock:
            if job.stop_requested:
                raise JobFailed("stopped")
            if job.started is None:
                job.started = now()
            try:
                running = self._running[job.name] = jobs.start(spec)
            except jobs.JobStartError as exc:
                raise JobFailed(f"AlgorithmError: {exc}") from None
        return running.wait()

    # ---- subclasses ----------------------------------------------------------------------------------------

    def _new(self, name: str, arn: str, request: dict):
        raise NotImplementedError

    def _execute(self, job, folder) -> None:
        raise NotImplementedError

    def _end(self, job, status: str, reason: str | None = None) -> None:
        job.finish(status, reason)

    def _restart_failed(self, job, message: str) -> None:
        self._end(job, "Failed", message)
