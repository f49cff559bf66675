"""Training jobs (state and behaviour; no HTTP here).

CreateTrainingJob stages the channels and the source tarball from S3 into a job folder laid out as /opt/ml, runs the
entry point through the shared job runner (own process group, killed on stop, MaxRuntimeInSeconds or cloud exit),
streams the log into CloudWatch Logs, parses MetricDefinitions, and uploads model.tar.gz / output.tar.gz:
InProgress (Starting -> Downloading -> Training -> Uploading) -> Completed | Failed | Stopped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import re
import sys
from pathlib import Path
from typing import Any

from mwaa_local.cloud import client, jobs
from mwaa_local.cloud.log_writer import LogWriter
from mwaa_local.cloud.s3_objects import NoSuchBucket, split_uri
from mwaa_local.cloud.sagemaker import algorithms, container, images, staging
from mwaa_local.cloud.sagemaker.exceptions import ValidationException
from mwaa_local.cloud.sagemaker.job_store import JobFailed, JobStore, now

log = logging.getLogger(__name__)

STATE = "sagemaker.training_jobs"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
FAILURE_REASON_LIMIT = 1024
DEFAULT_MAX_RUNTIME = 86400
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
SECONDARY_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "The job was stopped",
    "MaxRuntimeExceeded": "Training job runtime exceeded MaxRuntimeInSeconds provided",
}


@dataclasses.dataclass
class TrainingJob:
    name: str
    arn: str
    request: dict[str, Any]  # the CreateTrainingJob parameters, echoed by Describe
    status: str = "InProgress"
    secondary_status: str = "Starting"
    transitions: list[dict] = dataclasses.field(default_factory=list)
    failure_reason: str | None = None
    model_artifacts: str | None = None
    final_metrics: dict[str, tuple[float, dt.datetime]] = dataclasses.field(default_factory=dict)
    created: dt.datetime = dataclasses.field(default_factory=now)
    last_modified: dt.datetime = dataclasses.field(default_factory=now)
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    log_stream: str = ""
    stop_requested: bool = False
    command: list[str] = dataclasses.field(default_factory=list)  # as the toolkit reports it in a failure

    def set_secondary(self, status: str) -> None:
        moment = now()
        if self.transitions and "EndTime" not in self.transitions[-1]:
            self.transitions[-1]["EndTime"] = moment
        self.transitions.append({"Status": status, "StartTime": moment, "StatusMessage": SECONDARY_MESSAGES[status]})
        self.secondary_status, self.last_modified = status, moment

    def finish(self, status: str, secondary: str, reason: str | None = None) -> None:
        self.set_secondary(secondary)
        self.transitions[-1]["EndTime"] = self.transitions[-1]["StartTime"]
        self.status, self.ended = status, now()
        if reason is not None:
            self.failure_reason = reason[:FAILURE_REASON_LIMIT]

    @property
    def seconds(self) -> int:
        if self.started is None:
            return 0
        return max(1, math.ceil(((self.ended or now()) - self.started).total_seconds()))


class MetricParser:
    """MetricDefinitions' regexes over every log line; the last value of each becomes FinalMetricDataList."""

    def __init__(self, definitions: list[dict], job: TrainingJob):
        self.job = job
        self.patterns = []
        for definition in definitions:
            try:
                self.patterns.append((definition["Name"], re.compile(definition["Regex"])))
            except (KeyError, TypeError, re.error) as exc:
                raise ValidationException(f"MetricDefinitions entry {definition!r} is invalid: {exc}") from None

    def __call__(self, line: str) -> None:
        for name, pattern in self.patterns:
            match = pattern.search(line)
            if match:
                try:
                    value = float(match.group(1) if match.groups() else match.group(0))
                except ValueError:
                    continue
                self.job.final_metrics[name] = (value, now())


class _Tee:
    """One log line -> the CloudWatch stream and the metric parser."""

    def __init__(self, writer: LogWriter, metrics: MetricParser):
        self.writer, self.metrics = writer, metrics

    def write(self, line: str) -> None:
        self.writer.write(line)
        self.metrics(line)

    def flush(self) -> None:
        self.writer.flush()


class TrainingJobs(JobStore):
    STATE, KIND, ARN_KIND, FOLDER = STATE, "training job", "training-job", "training"

    def create(self, request: dict[str, Any]) -> TrainingJob:
        name = request["TrainingJobName"]
        if not isinstance(name, str) or not JOB_NAME.match(name):
            raise ValidationException(f"TrainingJobName {name!r} is invalid: 1-63 letters, digits and hyphens.")
        algorithm = request.get("AlgorithmSpecification") or {}
        if not isinstance(algorithm, dict) or not (algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")):
            raise ValidationException("AlgorithmSpecification.TrainingImage is required.")
        output_path = (request.get("OutputDataConfig") or {}).get("S3OutputPath")
        if not isinstance(output_path, str) or not output_path.startswith("s3://"):
            raise ValidationException("OutputDataConfig.S3OutputPath must be an s3:// URI.")
        MetricParser(algorithm.get("MetricDefinitions") or [], None)  # validates the regexes now, not mid-run
        return self._add(name, request)

    def _new(self, name: str, arn: str, request: dict) -> TrainingJob:
        job = TrainingJob(name, arn, request)
        job.set_secondary("Starting")
        return job

    def _stopping(self, job: TrainingJob) -> None:
        job.status = "Stopping"
        job.set_secondary("Stopping")

    # ---- running -------------------------------------------------------------------------------------------

    def _execute(self, job: TrainingJob, folder: Path) -> None:
        layout = container.Layout(folder / "opt" / "ml")
        self._conclude(job, layout, self._train(job, layout))

    def _end(self, job: TrainingJob, status: str, reason: str | None = None) -> None:
        job.finish(status, status, reason)  # Stopped/Failed: the secondary status says the same

    def _transition(self, job: TrainingJob, status: str) -> None:
        with self._lock:
            if job.stop_requested:
                raise JobFailed("stopped")
            job.set_secondary(status)
        self._save()

    def _train(self, job: TrainingJob, layout: container.Layout) -> jobs.Outcome:
        request = job.request
        algorithm = request["AlgorithmSpecification"]
        raw_hps = {k: str(v) for k, v in (request.get("HyperParameters") or {}).items()}
        decoded = container.decode_hyperparameters(raw_hps)
        environment = {k: str(v) for k, v in (request.get("Environment") or {}).items()}
        try:
            image = images.parse(algorithm.get("TrainingImage") or algorithm.get("AlgorithmName"))
            images.check_runnable(image)
        except images.UnsupportedImage as exc:
            raise JobFailed(f"AlgorithmError: {exc}") from None
        entry_point = environment.get("SAGEMAKER_PROGRAM") or decoded.get("sagemaker_program")
        builtin = not entry_point and image.framework in algorithms.BUILT_IN
        if not entry_point and not builtin:
            raise JobFailed(f"AlgorithmError: image {image.uri} runs script mode locally and needs an entry point: set "
                            "the hyperparameter sagemaker_program (the SDK does) or the environment variable "
                            "SAGEMAKER_PROGRAM.")
        layout.create()
        self._transition(job, "Downloading")
        channels = self._stage_channels(request.get("InputDataConfig") or [], layout)
        self._stage_code(decoded.get("sagemaker_submit_directory"), layout)
        if builtin:
            entry_point = algorithms.BUILT_IN[image.framework]
        elif not (layout.code / str(entry_point)).exists():
            raise JobFailed(f"AlgorithmError: entry point {entry_point} not found in the source directory "
                            f"({decoded.get('sagemaker_submit_directory') or 'none given'}); files there: "
                            f"{', '.join(sorted(p.name for p in layout.code.iterdir())) or 'none'}")
        instance_type = (request.get("ResourceConfig") or {}).get("InstanceType", "ml.m5.large")
        container.write_config(layout, raw_hps, channels, instance_type)
        env = client.job_environment(self.context.endpoint_url, self.context.region)
        env.update(container.environment(layout, job.name, decoded, channels, str(entry_point), instance_type,
                                         environment))
        self._transition(job, "Training")
        with self._lock:
            job.started = now()
            job.log_stream = f"{job.name}/algo-1-{int(job.started.timestamp())}"
            job.command = ["python", Path(str(entry_point)).name, *([] if builtin else container.user_args(decoded))]
        writer = LogWriter(self.context.store, LOG_GROUP, job.log_stream, self.context.region)
        definitions = algorithm.get("MetricDefinitions") or (
            algorithms.default_metric_definitions(decoded) if builtin else [])
        sink = _Tee(writer, MetricParser(definitions, job))
        max_runtime = (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or DEFAULT_MAX_RUNTIME
        command = ([sys.executable, str(entry_point)] if builtin else
                   [sys.executable, str(LAUNCHER), str(layout.code), str(entry_point), *container.user_args(decoded)])
        spec = jobs.JobSpec(job_id=self.job_id(job.name), cwd=layout.code, env=env, timeout=float(max_runtime),
                            command=command, stdout=sink, stderr=sink)
        return self._start_and_wait(job, spec)

    def _conclude(self, job: TrainingJob, layout: container.Layout, outcome: jobs.Outcome) -> None:
        if outcome.succeeded or outcome.stopped or outcome.timed_out:
            # AWS uploads what the model folder holds after a stop or a timeout too.
            with self._lock:
                job.set_secondary("Uploading")
            self._save()
            self._upload_artifacts(job, layout)
        with self._lock:
            if outcome.stopped:
                job.finish("Stopped", "Stopped")
            elif outcome.timed_out:
                job.finish("Stopped", "MaxRuntimeExceeded")
            elif outcome.succeeded:
                job.finish("Completed", "Completed")
            else:
                job.finish("Failed", "Failed", self._failure_reason(job, layout, outcome))

    @staticmethod
    def _failure_reason(job: TrainingJob, layout: container.Layout, outcome: jobs.Outcome) -> str:
        """What the script wrote to output/failure first; else the toolkit's ExecuteUserScriptError."""
        written = container.failure_message(layout)
        if written:
            return written
        tail = "\n".join(outcome.stderr_tail[-10:]).strip()
        return (f"AlgorithmError: ExecuteUserScriptError:\nExitCode {outcome.returncode}\nErrorMessage \"{tail}\"\n"
                f"Command \"{' '.join(job.command)}\"")

    # ---- S3 staging ----------------------------------------------------------------------------------------

    def _stage_channels(self, input_config: list[dict], layout: container.Layout) -> dict[str, dict]:
        channels = {}
        for channel in input_config:
            name = channel.get("ChannelName")
            source = (channel.get("DataSource") or {}).get("S3DataSource")
            if not name or not source:
                raise JobFailed(f"ClientError: channel {name!r} needs a DataSource.S3DataSource (the local cloud "
                                "stages S3 channels only)")
            target = layout.channel(name)
            target.mkdir(parents=True, exist_ok=True)
            uri, data_type = source.get("S3Uri", ""), source.get("S3DataType", "S3Prefix")
            try:
                count = staging.stage(self.context.s3, uri, data_type, target)
            except staging.StagingError as exc:
                raise JobFailed(f"ClientError: {exc}") from None
            if count == 0:
                raise JobFailed(f'ClientError: Data download failed:No S3 objects found under S3 URL "{uri}" given in '
                                f"input data source. Please ensure that the bucket exists in the selected region, "
                                f"that objects exist under that S3 prefix.")
            channels[name] = {"TrainingInputMode": channel.get("InputMode") or "File",
                              "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
                              "RecordWrapperType": channel.get("RecordWrapperType", "None"),
                              **({"ContentType": channel["ContentType"]} if channel.get("ContentType") else {})}
        return channels

    def _stage_code(self, submit_directory: object, layout: container.Layout) -> None:
        if not submit_directory:
            return
        if not isinstance(submit_directory, str) or not submit_directory.startswith("s3://"):
            raise JobFailed(f"ClientError: sagemaker_submit_directory {submit_directory!r} must be an s3:// URI of "
                            "a tar.gz file")
        try:
            staging.extract_tar(self.context.s3, submit_directory, layout.code, "sagemaker_submit_directory")
        except staging.StagingError as exc:
            raise JobFailed(f"ClientError: {exc}") from None

    def _upload_artifacts(self, job: TrainingJob, layout: container.Layout) -> None:
        output_path = job.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        bucket, prefix = split_uri(f"{output_path}/{job.name}/output")
        archives = layout.root.parents[1] / "archives"  # beside opt/, removed with the job folder
        objects = {f"{prefix}/model.tar.gz": staging.tar_gz(layout.model, archives / "model.tar.gz")}
        if any(layout.output_data.iterdir()):
            objects[f"{prefix}/output.tar.gz"] = staging.tar_gz(layout.output_data, archives / "output.tar.gz")
        try:
            self.context.s3.put_files(bucket, objects)
        except NoSuchBucket as exc:
            raise JobFailed(f"ClientError: could not upload the model artifacts: {exc}") from None
        with self._lock:
            job.model_artifacts = f"s3://{bucket}/{prefix}/model.tar.gz"
