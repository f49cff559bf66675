"""MWAA environments (state and behaviour; no HTTP here).

As MWAA does: the environment reads its DAGs from s3://<bucket>/<DagS3Path> (no version), and plugins.zip,
requirements.txt and startup.sh at the object versions it was given. CreateEnvironment and UpdateEnvironment
take the environment through CREATING/UPDATING. An update of the environment `./mwaa-local up` runs is applied to
it for real (requirements installed, startup.sh sourced, plugins extracted at the given versions, components
restarted: runtime/update_requests.py); otherwise requirements.txt (at the given version) is resolved under MWAA's
pins. A failure ends UPDATE_FAILED with LastUpdate.Error, and the previous configuration stays current (and keeps
running). An UpdateEnvironment that names a file without its new object version keeps
the version the environment already runs (MWAA's trap, reproduced on purpose).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaa_local.cloud import moto_state
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.mwaa import airflow_link
from mwaa_local.cloud.mwaa.exceptions import ResourceNotFoundException, ValidationException

log = logging.getLogger(__name__)

STATE_NAME = "mwaa"
AIRFLOW_VERSION = "3.3.1"
# An update takes MWAA 10-30 minutes; locally at least this long, so clients see UPDATING (and their polling works).
# MWAA_LOCAL_MWAA_UPDATE_SECONDS sets it (e.g. to test what happens to an update in flight).
UPDATE_SECONDS_ENV = "MWAA_LOCAL_MWAA_UPDATE_SECONDS"
DEFAULT_APPLY_SECONDS = 1.0


def min_apply_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(UPDATE_SECONDS_ENV, DEFAULT_APPLY_SECONDS)))
    except ValueError:
        return DEFAULT_APPLY_SECONDS
SUPPORTED_VERSIONS = ("2.10.3", "3.0.6", AIRFLOW_VERSION)
NAME = re.compile(r"^[a-zA-Z][0-9a-zA-Z_-]{0,79}$")
BUCKET_ARN = re.compile(r"^arn:aws(-[a-z]+)?:s3:::([a-z0-9.-]{3,63})$")
# (path member, version member) of the files MWAA pins by object version
VERSIONED_FILES = (("PluginsS3Path", "PluginsS3ObjectVersion"), ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
                   ("StartupScriptS3Path", "StartupScriptS3ObjectVersion"))
SETTINGS = ("ExecutionRoleArn", "AirflowConfigurationOptions", "EnvironmentClass", "MaxWorkers", "MinWorkers",
            "MaxWebservers", "MinWebservers", "Schedulers", "WebserverAccessMode", "WeeklyMaintenanceWindowStart",
            "LoggingConfiguration", "NetworkConfiguration", "KmsKey", "EndpointManagement", "Tags")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Environment:
    name: str
    arn: str
    created: dt.datetime
    status: str
    config: dict[str, Any]  # the current configuration (Environment members, wire names)
    last_update: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None  # the configuration being applied (UPDATING)
    history: list[dict] = field(default_factory=list)  # applied configurations, oldest first


def requirements_error(text: bytes) -> str | None:
    """None when requirements.txt resolves under MWAA's pins; else MWAA-like words for LastUpdate.Error."""
    from mwaa_local import requirements_check

    with tempfile.TemporaryDirectory(prefix="mwaa-update-") as tmp:
        path = Path(tmp) / "requirements.txt"
        path.write_bytes(text)
        result = requirements_check.check(path)
    if result.ok:
        return None
    reasons = result.problems + [str(c) for c in result.conflicts]
    return "requirements.txt could not be installed: " + "; ".join(reasons)[:900]


# How long an update may take the running `up`: MWAA's limits for requirements (9 min) and startup.sh (5 min), and
# the restart of the components.
AIRFLOW_UPDATE_LIMIT_S = 30 * 60
ROLES = {"PluginsS3Path": "plugins", "RequirementsS3Path": "requirements", "StartupScriptS3Path": "startup"}


def running_airflow(name: str) -> bool:
    """Whether `./mwaa-local up` runs the Airflow of environment `name` (ready.json written, its process alive)."""
    if airflow_link.api_url(name) is None:
        return False
    pid = airflow_link._read(airflow_link.runtime_dir() / "ready.json").get("pid")
    return isinstance(pid, int) and _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def update_running_airflow(name: str, config: dict[str, Any]) -> str | None:
    """Asks the running `up` to run `config`'s object versions (re-install requirements, re-source startup.sh,
    re-extract plugins.zip, restart the components); its error, or None once it runs them. The previous
    components keep running when requirements or startup.sh fail."""
    from mwaa_local.runtime import update_requests

    bucket = BUCKET_ARN.match(config["SourceBucketArn"]).group(2)
    request = update_requests.UpdateRequest(name, bucket)
    for path_member, version_member in VERSIONED_FILES:
        if config.get(path_member):
            request.keys[ROLES[path_member]] = config[path_member]
            request.versions[ROLES[path_member]] = config.get(version_member) or ""
    folder = airflow_link.runtime_dir()
    update_requests.submit(folder, request)
    result = update_requests.wait(folder, request.id, lambda: running_airflow(name), AIRFLOW_UPDATE_LIMIT_S)
    return result.error


class MwaaBackend:
    """Every environment of the local account, persisted through the state store. An update of the environment
    `up` runs is applied to that Airflow for real (`update_airflow`); of any other environment, requirements.txt is
    only resolved (`check_requirements`). All three are swappable for unit tests of the state machine; they run on
    a worker thread, never in a request."""

    def __init__(self, context: CloudContext, check_requirements: Callable[[bytes], str | None] = requirements_error,
                 airflow_runs: Callable[[str], bool] = running_airflow,
                 update_airflow: Callable[[str, dict[str, Any]], str | None] = update_running_airflow):
        self.context = context
        self.check_requirements = check_requirements
        self.airflow_runs = airflow_runs
        self.update_airflow = update_airflow
        self.environments: dict[str, Environment] = {}
        self._lock = threading.RLock()
        self._workers: list[threading.Thread] = []
        moto_state.register_moto_backend(context.store, "s3")
        context.store.register(STATE_NAME, self._snapshot, self._restore)
        context.store.register_recovery(STATE_NAME, self._recover)
        context.registry[STATE_NAME] = self

    # ---- durability ----------------------------------------------------------------------------------------

    def _snapshot(self) -> dict:
        with self._lock:
            return copy.deepcopy(self.environments)

    def _restore(self, saved: dict) -> None:
        with self._lock:
            self.environments = saved

    def _recover(self) -> bool:
        """An update in flight when the cloud died failed; the previous configuration stays current."""
        changed = False
        with self._lock:
            for env in self.environments.values():
                if env.status in ("CREATING", "UPDATING"):
                    self._fail(env, "INTERNAL_ERROR", "The local cloud restarted while this change was being "
                               "applied; run it again.")
                    changed = True
                elif env.status == "DELETING":
                    del self.environments[env.name]
                    changed = True
        return changed

    # ---- S3 --------------------------------------------------------------------------------------------------

    def _bucket(self, arn: str):
        match = BUCKET_ARN.match(arn or "")
        if not match:
            raise ValidationException(f"SourceBucketArn {arn!r} is not an S3 bucket ARN (arn:aws:s3:::<bucket>).")
        bucket = moto_state.s3().buckets.get(match.group(2))
        if bucket is None:
            raise ValidationException(f"Unable to access bucket {match.group(2)}: it does not exist.")
        if not bucket.is_versioned:
            raise ValidationException(f"Bucket {bucket.name} must have versioning enabled for MWAA.")
        try:
            block = moto_state.s3().get_public_access_block(bucket.name)
        except Exception:  # moto raises its NoSuchPublicAccessBlockConfiguration
            block = None
        flags = [getattr(block, a, False) in (True, "true", "True") for a in
                 ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")]
        if not all(flags):
            raise ValidationException(f"Bucket {bucket.name} must block all public access for MWAA.")
        return bucket

    def _object(self, bucket_name: str, key: str, version: str | None, member: str) -> tuple[str, bytes]:
        """(version id, content) of the object; the latest version when `version` is None."""
        found = moto_state.s3().get_object(bucket_name, key, version_id=version) if key else None
        if found is None or type(found).__name__ != "FakeKey":
            at = f" at version {version}" if version else ""
            raise ValidationException(f"Unable to read s3://{bucket_name}/{key}{at} ({member}): the object does "
                                      "not exist. Upload it and pass the version id S3 returned.")
        return found.version_id, found.value

    # ---- environments ----------------------------------------------------------------------------------------

    def environment(self, name: str) -> Environment:
        with self._lock:
            env = self.environments.get(name)
            if env is None or env.status == "DELETED":
                raise ResourceNotFoundException(name)
            return env

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self.environments)

    def _resolve(self, wanted: dict[str, Any], previous: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
        """The configuration `wanted` (a full config) means, with object versions resolved; also the
        requirements.txt content when its version differs from `previous`'s (so it must be checked)."""
        bucket = self._bucket(wanted["SourceBucketArn"])
        if not isinstance(wanted.get("DagS3Path"), str) or not wanted["DagS3Path"]:
            raise ValidationException("DagS3Path must name a folder of the bucket, e.g. dags.")
        config, requirements = dict(wanted), None
        for path_member, version_member in VERSIONED_FILES:
            key = config.get(path_member)
            if not key:
                config.pop(path_member, None)
                config.pop(version_member, None)
                continue
            version, content = self._object(bucket.name, key, config.get(version_member), version_member)
            config[version_member] = version
            if path_member == "RequirementsS3Path" and (
                    key != previous.get(path_member) or version != previous.get(version_member)):
                requirements = content
        return config, requirements

    def create(self, name: str, params: dict[str, Any]) -> Environment:
        if not isinstance(name, str) or not NAME.match(name):
            raise ValidationException(f"Name {name!r} is invalid: a letter, then up to 79 letters, digits, - or _.")
        version = params.get("AirflowVersion") or AIRFLOW_VERSION
        if version not in SUPPORTED_VERSIONS:
            raise ValidationException(f"AirflowVersion {version} is not supported; use one of "
                                      f"{', '.join(SUPPORTED_VERSIONS)}.")
        wanted = {k: v for k, v in params.items() if v is not None}
        wanted.update({"AirflowVersion": version, "EnvironmentClass": params.get("EnvironmentClass") or "mw1.small"})
        with self.context.store.mutation(STATE_NAME), self._lock:
            if name in self.environments and self.environments[name].status != "DELETED":
                raise ValidationException(f"Environment {name} already exists.")
            config, requirements = self._resolve(wanted, {})
            arn = f"arn:aws:airflow:{self.context.region}:{self.context.account_id}:environment/{name}"
            env = Environment(name, arn, _now(), "CREATING", {}, pending=config)
            env.last_update = {"Status": "PENDING", "CreatedAt": _now(), "Source": "Create"}
            self.environments[name] = env
        self._apply_later(env, requirements, "CREATE_FAILED")
        return env

    def update(self, name: str, params: dict[str, Any]) -> Environment:
        with self.context.store.mutation(STATE_NAME), self._lock:
            env = self.environment(name)
            if env.status not in ("AVAILABLE", "UPDATE_FAILED"):
                raise ValidationException(f"Environment {name} is {env.status}; it can be updated only when "
                                          "AVAILABLE or UPDATE_FAILED.")
            if params.get("AirflowVersion") and params["AirflowVersion"] not in SUPPORTED_VERSIONS:
                raise ValidationException(f"AirflowVersion {params['AirflowVersion']} is not supported.")
            wanted = dict(env.config)
            for key, value in params.items():
                if value is not None and key != "WorkerReplacementStrategy":
                    wanted[key] = value
            for path_member, version_member in VERSIONED_FILES:
                # A file named again without a version keeps the version the environment runs (MWAA's rule);
                # a new path without a version means its latest version.
                if (params.get(path_member) and not params.get(version_member)
                        and params[path_member] == env.config.get(path_member)):
                    wanted[version_member] = env.config.get(version_member)
                elif params.get(path_member) and not params.get(version_member):
                    wanted.pop(version_member, None)
            config, requirements = self._resolve(wanted, env.config)
            if config == env.config:
                raise ValidationException("The update request contains no changes to the environment.")
            env.pending, env.status = config, "UPDATING"
            env.last_update = {"Status": "PENDING", "CreatedAt": _now(), "Source": "Update",
                               **({"WorkerReplacementStrategy": params["WorkerReplacementStrategy"]}
                                  if params.get("WorkerReplacementStrategy") else {})}
        self._apply_later(env, requirements, "UPDATE_FAILED")
        return env

    def _apply_later(self, env: Environment, requirements: bytes | None, failed_status: str) -> None:
        worker = threading.Thread(target=self._apply, args=(env, requirements, failed_status),
                                  name=f"mwaa-{env.name}", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _apply(self, env: Environment, requirements: bytes | None, failed_status: str) -> None:
        started = time.monotonic()
        try:
            if failed_status == "UPDATE_FAILED" and self.airflow_runs(env.name):
                # `up` bootstrapped from the bucket when it started; an update re-bootstraps it at these versions.
                error = self.update_airflow(env.name, copy.deepcopy(env.pending))
            else:
                error = self.check_requirements(requirements) if requirements is not None else None
        except Exception as exc:  # the checker itself broke: the update fails, it never hangs in UPDATING
            log.exception("applying the update of %s", env.name)
            error = f"the update could not be applied: {exc}"
        time.sleep(max(0.0, min_apply_seconds() - (time.monotonic() - started)))
        with self.context.store.mutation(STATE_NAME), self._lock:
            if env.status not in ("CREATING", "UPDATING"):
                return  # deleted meanwhile
            if error:
                self._fail(env, "INCORRECT_CONFIGURATION", error, failed_status)
                return
            env.config, env.pending, env.status = env.pending, None, "AVAILABLE"
            env.history.append(copy.deepcopy(env.config))
            env.last_update = {**(env.last_update or {}), "Status": "SUCCESS"}

    def _fail(self, env: Environment, code: str, message: str, status: str | None = None) -> None:
        status = status or ("CREATE_FAILED" if env.status == "CREATING" else "UPDATE_FAILED")
        env.pending, env.status = None, status
        env.last_update = {**(env.last_update or {}), "Status": "FAILED",
                           "Error": {"ErrorCode": code, "ErrorMessage": message}}

    def wait_idle(self, timeout: float = 60) -> None:
        """Joins the worker threads (tests of the state machine)."""
        for worker in list(self._workers):
            worker.join(timeout)

    def delete(self, name: str) -> None:
        with self.context.store.mutation(STATE_NAME), self._lock:
            env = self.environment(name)
            if env.status in ("CREATING", "UPDATING", "DELETING"):
                raise ValidationException(f"Environment {name} is {env.status}; wait until it settles.")
            del self.environments[name]

    # ---- tokens and the REST API -----------------------------------------------------------------------------

    def webserver_hostname(self, env: Environment) -> str:
        url = airflow_link.api_url(env.name)
        if url:
            return url.split("://", 1)[-1]
        if airflow_link.serves(env.name):
            return "127.0.0.1:8080"  # where `up` serves the UI by default
        return f"{env.name}.{self.context.region}.airflow.localhost"

    def token(self, name: str) -> tuple[str, str]:
        env = self.environment(name)
        return secrets.token_urlsafe(32), self.webserver_hostname(env)
