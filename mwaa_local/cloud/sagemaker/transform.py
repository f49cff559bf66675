"""Batch transform jobs (state and behaviour; no HTTP here).

The model is staged as an endpoint's would be, every object under the input prefix is staged, and a worker process
(inference/transform_worker.py, through the shared job runner) runs the serving handlers over each one. Outputs are
uploaded only when every object succeeded (`<S3OutputPath>/<relative path>.out`): no partial output.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from mwaa_local.cloud import jobs
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.log_writer import LogWriter
from mwaa_local.cloud.s3_objects import NoSuchBucket
from mwaa_local.cloud.sagemaker import bundle, staging
from mwaa_local.cloud.sagemaker.exceptions import ResourceInUse, ValidationException, not_found

log = logging.getLogger(__name__)

STATE = "sagemaker.transform_jobs"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
ACTIVE = ("InProgress", "Stopping")
WORKER = bundle.INFERENCE / "transform_worker.py"
DEFAULT_MAX_PAYLOAD_MB = 6


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TransformFailed(Exception):
    pass


@dataclasses.dataclass
class TransformJob:
    name: str
    arn: str
    request: dict[str, Any]
    status: str = "InProgress"
    failure_reason: str | None = None
    created: dt.datetime = dataclasses.field(default_factory=_now)
    last_modified: dt.datetime = dataclasses.field(default_factory=_now)
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    stop_requested: bool = False

    def finish(self, status: str, reason: str | None = None) -> None:
        self.status, self.ended, self.last_modified = status, _now(), _now()
        if reason:
            self.failure_reason = reason[:1024]


class TransformJobs:
    def __init__(self, context: CloudContext, models):
        self.context = context
        self.models = models  # hosting.Hosting: the models live there
        self.jobs: dict[str, TransformJob] = {}
        self._running: dict[str, jobs.Job] = {}
        self._lock = threading.RLock()
        self.workspace = context.data_dir("sagemaker") / "transform"
        context.store.register(STATE, self._snapshot, self._restore)
        context.store.register_recovery(STATE, self._recover)

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
                job.finish("Failed", jobs.restart_error("transform job"))
        jobs.kill_leftovers(f"sagemaker-transform-{job.name}" for job in interrupted)
        shutil.rmtree(self.workspace, ignore_errors=True)
        return bool(interrupted)

    def _save(self) -> None:
        try:
            self.context.store.save(STATE)
        except Exception:
            log.exception("could not persist SageMaker transform jobs")

    def create(self, request: dict) -> TransformJob:
        name = request["TransformJobName"]
        self.models.model(request["ModelName"])  # ValidationException when missing, as AWS
        source = ((request.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource") or {}
        if not str(source.get("S3Uri", "")).startswith("s3://"):
            raise ValidationException("TransformInput.DataSource.S3DataSource.S3Uri must be an s3:// URI.")
        if not str((request.get("TransformOutput") or {}).get("S3OutputPath", "")).startswith("s3://"):
            raise ValidationException("TransformOutput.S3OutputPath must be an s3:// URI.")
        payload = request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
        if not isinstance(payload, int) or not 0 <= payload <= 100:
            raise ValidationException("MaxPayloadInMB must be between 0 and 100.")
        with self.context.store.mutation(STATE), self._lock:
            if name in self.jobs:
                raise ResourceInUse(f"Job name must be unique within an AWS account and region, and a job with "
                                    f"this name already exists ({self.jobs[name].arn})")
            job = self.jobs[name] = TransformJob(
                name, f"arn:aws:sagemaker:{self.context.region}:{self.context.account_id}:transform-job/{name.lower()}",
                copy.deepcopy(request))
        threading.Thread(target=self._run, args=(job,), daemon=True, name=f"transform-{name[:40]}").start()
        return job

    def get(self, name: str) -> TransformJob:
        with self._lock:
            if name not in self.jobs:
                raise not_found("transform job", name)
            return self.jobs[name]

    def list(self) -> list[TransformJob]:
        with self._lock:
            return list(self.jobs.values())

    def stop(self, name: str) -> None:
        with self.context.store.mutation(STATE), self._lock:
            job = self.get(name)
            if job.status != "InProgress":
                raise ValidationException(f"The transform job {name} is {job.status}: it cannot be stopped.")
            job.stop_requested, job.status = True, "Stopping"
            running = self._running.get(name)
        if running is not None:
            running.stop()

    # ---- running -------------------------------------------------------------------------------------------

    def _run(self, job: TransformJob) -> None:
        folder = self.workspace / job.name
        try:
            outcome = self._transform(job, folder)
            with self._lock:
                if outcome.stopped or job.stop_requested:
                    job.finish("Stopped")
                elif outcome.succeeded:
                    self._upload(job, folder / "out")
                    job.finish("Completed")
                else:
                    job.finish("Failed", self._failure_reason(outcome))
        except TransformFailed as exc:
            with self._lock:
                job.finish("Stopped" if job.stop_requested else "Failed", None if job.stop_requested else str(exc))
        except Exception as exc:
            log.exception("transform job %s", job.name)
            with self._lock:
                job.finish("Failed", f"InternalServerError: the local cloud failed to run the job: {exc}")
        finally:
            with self._lock:
                self._running.pop(job.name, None)
            self._save()
            shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _failure_reason(outcome: jobs.Outcome) -> str:
        failed = [line for line in outcome.stderr_tail if line.startswith("object ")]
        if failed:  # the worker names the object that failed and why
            return f"AlgorithmError: {failed[-1]}"
        tail = " | ".join(outcome.stderr_tail[-5:]) or "no error output"
        return f"AlgorithmError: the transform worker exited with code {outcome.returncode}: {tail}"

    def _transform(self, job: TransformJob, folder: Path) -> jobs.Outcome:
        request = job.request
        try:
            env = bundle.prepare(self.context, self.models.model(request["ModelName"]).request, folder / "bundle")
        except bundle.BundleError as exc:
            raise TransformFailed(f"ClientError: {exc}") from None
        source = request["TransformInput"]["DataSource"]["S3DataSource"]
        count = self._stage(source, folder / "in")
        if count == 0:
            raise TransformFailed(f"ClientError: No data found under the input S3 prefix {source['S3Uri']}: "
                                  "nothing to transform.")
        transform_input, transform_output = request["TransformInput"], request["TransformOutput"]
        payload_mb = request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
        env.update({k: str(v) for k, v in (request.get("Environment") or {}).items()})
        env.update({
            "TRANSFORM_SPLIT_TYPE": transform_input.get("SplitType", "None"),
            "TRANSFORM_BATCH_STRATEGY": request.get("BatchStrategy", "MultiRecord"),
            "TRANSFORM_MAX_PAYLOAD_BYTES": str((payload_mb or 100) * 1024 * 1024),
            "TRANSFORM_CONTENT_TYPE": transform_input.get("ContentType", ""),
            "TRANSFORM_ACCEPT": transform_output.get("Accept", ""),
            "TRANSFORM_ASSEMBLE_WITH": transform_output.get("AssembleWith", "None"),
        })
        (folder / "out").mkdir(parents=True, exist_ok=True)
        writer = LogWriter(self.context.store, LOG_GROUP, f"{job.name}/local-0", self.context.region)
        spec = jobs.JobSpec(job_id=f"sagemaker-transform-{job.name}", cwd=folder,
                            command=[sys.executable, str(WORKER), str(folder / "in"), str(folder / "out")],
                            env=env, stdout=writer, stderr=writer)
        with self._lock:
            if job.stop_requested:
                raise TransformFailed("stopped")
            job.started = _now()
            running = self._running[job.name] = jobs.start(spec)
        return running.wait()

    def _stage(self, source: dict, target: Path) -> int:
        try:
            return staging.stage(self.context.s3, source["S3Uri"], source.get("S3DataType", "S3Prefix"), target)
        except staging.StagingError as exc:
            raise TransformFailed(f"ClientError: could not read the input {source['S3Uri']}: {exc}") from None

    def _upload(self, job: TransformJob, out: Path) -> None:
        bucket, objects = staging.folder_objects(out, job.request["TransformOutput"]["S3OutputPath"])
        try:
            self.context.s3.put_many(bucket, objects)
        except NoSuchBucket as exc:
            raise TransformFailed(f"ClientError: could not write the output: {exc}") from None
