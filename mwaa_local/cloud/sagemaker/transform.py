"""Batch transform jobs (state and behaviour; no HTTP here).

The model is staged as an endpoint's would be, every object under the input prefix is staged, and a worker process
(inference/transform_worker.py, through the shared job runner) runs the serving handlers over each one. Outputs are
uploaded only when every object succeeded (`<S3OutputPath>/<relative path>.out`): no partial output.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mwaa_local.cloud import jobs
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.log_writer import LogWriter
from mwaa_local.cloud.s3_objects import NoSuchBucket
from mwaa_local.cloud.sagemaker import bundle, staging
from mwaa_local.cloud.sagemaker.exceptions import ValidationException
from mwaa_local.cloud.sagemaker.job_store import JobFailed, JobRecord, JobStore

log = logging.getLogger(__name__)

STATE = "sagemaker.transform_jobs"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
WORKER = bundle.INFERENCE / "transform_worker.py"
DEFAULT_MAX_PAYLOAD_MB = 6


class TransformJob(JobRecord):
    """A transform job: nothing beyond what every job records."""


class TransformJobs(JobStore):
    STATE, KIND, ARN_KIND, FOLDER = STATE, "transform job", "transform-job", "transform"

    def __init__(self, context: CloudContext, models):
        self.models = models  # hosting.Hosting: the models live there
        super().__init__(context)

    def create(self, request: dict) -> TransformJob:
        self.models.model(request["ModelName"])  # ValidationException when missing, as AWS
        source = ((request.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource") or {}
        if not str(source.get("S3Uri", "")).startswith("s3://"):
            raise ValidationException("TransformInput.DataSource.S3DataSource.S3Uri must be an s3:// URI.")
        if not str((request.get("TransformOutput") or {}).get("S3OutputPath", "")).startswith("s3://"):
            raise ValidationException("TransformOutput.S3OutputPath must be an s3:// URI.")
        payload = request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
        if not isinstance(payload, int) or not 0 <= payload <= 100:
            raise ValidationException("MaxPayloadInMB must be between 0 and 100.")
        return self._add(request["TransformJobName"], request)

    def _new(self, name: str, arn: str, request: dict) -> TransformJob:
        return TransformJob(name, arn, request)

    # ---- running -------------------------------------------------------------------------------------------

    def _execute(self, job: TransformJob, folder: Path) -> None:
        outcome = self._transform(job, folder)
        with self._lock:
            if outcome.stopped or job.stop_requested:
                job.finish("Stopped")
            elif outcome.succeeded:
                self._upload(job, folder / "out")
                job.finish("Completed")
            else:
                job.finish("Failed", self._failure_reason(outcome))

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
            raise JobFailed(f"ClientError: {exc}") from None
        source = request["TransformInput"]["DataSource"]["S3DataSource"]
        count = self._stage(source, folder / "in")
        if count == 0:
            raise JobFailed(f"ClientError: No data found under the input S3 prefix {source['S3Uri']}: "
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
        spec = jobs.JobSpec(job_id=self.job_id(job.name), cwd=folder,
                            command=[sys.executable, str(WORKER), str(folder / "in"), str(folder / "out")],
                            env=env, stdout=writer, stderr=writer)
        return self._start_and_wait(job, spec)

    def _stage(self, source: dict, target: Path) -> int:
        try:
            return staging.stage(self.context.s3, source["S3Uri"], source.get("S3DataType", "S3Prefix"), target)
        except staging.StagingError as exc:
            raise JobFailed(f"ClientError: could not read the input {source['S3Uri']}: {exc}") from None

    def _upload(self, job: TransformJob, out: Path) -> None:
        bucket, objects = staging.folder_objects(out, job.request["TransformOutput"]["S3OutputPath"])
        try:
            self.context.s3.put_files(bucket, objects)
        except NoSuchBucket as exc:
            raise JobFailed(f"ClientError: could not write the output: {exc}") from None
