"""Processing jobs (state and behaviour; no HTTP here).

The container's paths under /opt/ml/ are mapped into the job's folder: every ProcessingInput is staged from S3 to
its LocalPath, ContainerEntrypoint + ContainerArguments run through the shared job runner (`python`/`python3` is the
local Python), and each output's LocalPath is uploaded to its S3Uri at the end (S3UploadMode EndOfJob).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

from mwaa_local.cloud import client, jobs
from mwaa_local.cloud.log_writer import LogWriter
from mwaa_local.cloud.s3_objects import NoSuchBucket
from mwaa_local.cloud.sagemaker import images, staging
from mwaa_local.cloud.sagemaker.exceptions import ValidationException
from mwaa_local.cloud.sagemaker.job_store import JobFailed, JobRecord, JobStore, now

log = logging.getLogger(__name__)

STATE = "sagemaker.processing_jobs"
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
CONTAINER_ROOT = "/opt/ml/"
PYTHONS = ("python", "python3", "/usr/bin/python3", "/usr/local/bin/python3", "/usr/bin/python", "/usr/local/bin/python")
DEFAULT_MAX_RUNTIME = 86400


@dataclasses.dataclass
class ProcessingJob(JobRecord):
    exit_message: str | None = None


def container_path(root: Path, path: str) -> str:
    """/opt/ml/processing/input -> <job folder>/opt/ml/processing/input; other values stay as they are."""
    return str(root / path.lstrip("/")) if path.startswith(CONTAINER_ROOT) else path


class ProcessingJobs(JobStore):
    STATE, KIND, ARN_KIND, FOLDER = STATE, "processing job", "processing-job", "processing"

    def create(self, request: dict) -> ProcessingJob:
        name = request["ProcessingJobName"]
        app = request.get("AppSpecification") or {}
        if not isinstance(app, dict) or not app.get("ImageUri"):
            raise ValidationException("AppSpecification.ImageUri is required.")
        for item in request.get("ProcessingInputs") or []:
            s3_input = item.get("S3Input") or {}
            if not s3_input.get("LocalPath", "").startswith(CONTAINER_ROOT + "processing"):
                raise ValidationException(f"ProcessingInputs {item.get('InputName')}: LocalPath must be under "
                                          "/opt/ml/processing (the local cloud stages S3 inputs only).")
        for item in (request.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            s3_output = item.get("S3Output") or {}
            if not s3_output.get("LocalPath", "").startswith(CONTAINER_ROOT + "processing"):
                raise ValidationException(f"ProcessingOutputs {item.get('OutputName')}: LocalPath must be under "
                                          "/opt/ml/processing.")
        return self._add(name, request)

    def _new(self, name: str, arn: str, request: dict) -> ProcessingJob:
        return ProcessingJob(name, arn, request)

    # ---- running -------------------------------------------------------------------------------------------

    def _execute(self, job: ProcessingJob, folder: Path) -> None:
        outcome = self._process(job, folder)
        with self._lock:
            if outcome.stopped or job.stop_requested:
                job.finish("Stopped")
            elif outcome.timed_out:
                job.finish("Stopped", "Processing job runtime exceeded MaxRuntimeInSeconds provided")
            elif outcome.succeeded:
                self._upload(job, folder)
                job.exit_message = "Completed"
                job.finish("Completed")
            else:
                tail = "\n".join(outcome.stderr_tail[-10:]).strip()
                job.exit_message = tail[-1024:] or None
                job.finish("Failed", f"AlgorithmError: See job logs for more information (exit code "
                                     f"{outcome.returncode}): {tail[-900:]}")

    def _process(self, job: ProcessingJob, folder: Path) -> jobs.Outcome:
        request, app = job.request, job.request["AppSpecification"]
        try:
            image = images.parse(app["ImageUri"])
            images.check_runnable(image)
        except images.UnsupportedImage as exc:
            raise JobFailed(f"AlgorithmError: {exc}") from None
        entrypoint = list(app.get("ContainerEntrypoint") or [])
        if not entrypoint:
            raise JobFailed("ClientError: ContainerEntrypoint is required locally (the framework images run "
                                   "the entry point you give, e.g. [\"python3\", \"/opt/ml/processing/input/code/"
                                   "preprocess.py\"]).")
        for item in request.get("ProcessingInputs") or []:
            s3_input = item["S3Input"]
            target = Path(container_path(folder, s3_input["LocalPath"]))
            try:
                count = staging.stage(self.context.s3, s3_input["S3Uri"], s3_input.get("S3DataType", "S3Prefix"),
                                      target)
            except staging.StagingError as exc:
                raise JobFailed(f"ClientError: input {item.get('InputName')}: {exc}") from None
            if count == 0:
                raise JobFailed(f"ClientError: input {item.get('InputName')}: no S3 objects found under "
                                       f"{s3_input['S3Uri']}")
        for item in (request.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            Path(container_path(folder, item["S3Output"]["LocalPath"])).mkdir(parents=True, exist_ok=True)
        if entrypoint[0] in PYTHONS:
            entrypoint[0] = sys.executable
        command = [container_path(folder, part) for part in entrypoint]
        command += [container_path(folder, str(arg)) for arg in app.get("ContainerArguments") or []]
        env = client.job_environment(self.context.endpoint_url, self.context.region)
        env.update({k: str(v) for k, v in (request.get("Environment") or {}).items()})
        max_runtime = (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or DEFAULT_MAX_RUNTIME
        job.started = now()
        writer = LogWriter(self.context.store, LOG_GROUP, f"{job.name}/algo-1-{int(job.started.timestamp())}",
                           self.context.region)
        return self._start_and_wait(job, jobs.JobSpec(
            job_id=self.job_id(job.name), command=command, cwd=folder, env=env,
            timeout=float(max_runtime), stdout=writer, stderr=writer))

    def _upload(self, job: ProcessingJob, folder: Path) -> None:
        for item in (job.request.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            local = Path(container_path(folder, item["S3Output"]["LocalPath"]))
            bucket, objects = staging.folder_objects(local, item["S3Output"]["S3Uri"])
            try:
                self.context.s3.put_files(bucket, objects)
            except NoSuchBucket as exc:
                raise JobFailed(f"ClientError: output {item.get('OutputName')}: {exc}") from None
