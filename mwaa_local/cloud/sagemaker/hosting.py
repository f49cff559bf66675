"""Models, endpoint configs and endpoints (state and behaviour; no HTTP here).

An endpoint is served by a model-server process (inference/model_server.py) started through the shared job runner
and reached on a loopback port. UpdateEndpoint starts the new config's server, switches traffic to it once it
answers, and retires the old one when its in-flight requests are done, so no request fails during an update.
Endpoints that were InService come back (their servers restarted) after a cloud restart.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import shutil
import socket
import sys
import threading
import time
import uuid
from typing import Any

import urllib3

from mwaa_local.cloud import jobs
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.log_writer import LogWriter
from mwaa_local.cloud.sagemaker import bundle
from mwaa_local.cloud.sagemaker.exceptions import ValidationException, not_found
from mwaa_local.cloud.sagemaker.job_store import now

log = logging.getLogger(__name__)

STATE = "sagemaker.hosting"
READY_TIMEOUT = 120.0  # seconds for a model server to load its model and answer
RETIRE_TIMEOUT = 60.0  # seconds an old server may finish its in-flight requests after an update
SERVER = bundle.INFERENCE / "model_server.py"


@dataclasses.dataclass
class Resource:
    """A model or an endpoint config: immutable once created, described by echoing its request."""

    name: str
    arn: str
    request: dict[str, Any]
    created: dt.datetime = dataclasses.field(default_factory=now)


Model = EndpointConfig = Resource


@dataclasses.dataclass
class Endpoint:
    name: str
    arn: str
    config_name: str
    status: str = "Creating"
    failure_reason: str | None = None
    created: dt.datetime = dataclasses.field(default_factory=now)
    last_modified: dt.datetime = dataclasses.field(default_factory=now)
    serving_config: str | None = None  # the config whose server takes the traffic
    tags: list[dict] = dataclasses.field(default_factory=list)


class ServerFailed(Exception):
    pass


class ModelServer:
    """One model-server process and a connection pool to it; counts requests in flight."""

    def __init__(self, context: CloudContext, endpoint: str, model: Model, folder):
        self.folder = folder
        env = bundle.prepare(context, model.request, folder)
        self.port = _free_port()
        self._ready = threading.Event()
        self._in_flight = 0
        self._idle = threading.Condition()
        stream = f"AllTraffic/{uuid.uuid4().hex[:12]}"
        self._log = LogWriter(context.store, f"/aws/sagemaker/Endpoints/{endpoint}", stream, context.region)
        self.job = jobs.start(jobs.JobSpec(
            job_id=f"sagemaker-endpoint-{endpoint}-{self.port}", command=[sys.executable, str(SERVER), str(self.port)],
            cwd=folder, env=env, stdout=self._on_stdout, stderr=self._log))
        self.pool = urllib3.HTTPConnectionPool("127.0.0.1", self.port, maxsize=16, block=False, retries=False)

    def _on_stdout(self, line: str) -> None:
        if line.startswith("READY"):
            self._ready.set()
        self._log.write(line)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            outcome = self.job.outcome
            if outcome is not None:
                self._log.flush()
                tail = " | ".join(outcome.stderr_tail[-5:]) or f"exit code {outcome.returncode}"
                raise ServerFailed(f"The model server exited while loading the model: {tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerFailed(f"The model server did not answer within {timeout:.0f} s.")
        self._log.flush()

    def invoke(self, body: bytes, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        with self._idle:
            self._in_flight += 1
        try:
            return self.pool.urlopen("POST", "/invocations", body=body, headers=headers, preload_content=True)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def retire(self) -> None:
        """Stops the server once nothing is in flight (in a thread: the caller does not wait)."""
        def finish() -> None:
            with self._idle:
                self._idle.wait_for(lambda: self._in_flight == 0, timeout=RETIRE_TIMEOUT)
            self.stop()
        threading.Thread(target=finish, daemon=True).start()

    def stop(self) -> None:
        self.job.stop()
        self.job.wait(10)
        self._log.flush()
        self.pool.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hosting:
    def __init__(self, context: CloudContext):
        self.context = context
        self.models: dict[str, Model] = {}
        self.configs: dict[str, EndpointConfig] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.servers: dict[str, ModelServer] = {}
        self._lock = threading.RLock()
        self.workspace = context.data_dir("sagemaker") / "endpoints"
        context.store.register(STATE, self._snapshot, self._restore)
        context.store.register_recovery(STATE, self._recover)

    # ---- durability ----------------------------------------------------------------------------------------

    def _snapshot(self) -> dict:
        with self._lock:
            return copy.deepcopy({"models": self.models, "configs": self.configs, "endpoints": self.endpoints})

    def _restore(self, saved: dict) -> None:
        with self._lock:
            self.models, self.configs, self.endpoints = saved["models"], saved["configs"], saved["endpoints"]

    def _recover(self) -> bool:
        """After a restart (S3 restored too): endpoints that served come back on the config that served; one being
        created is Failed; an update in flight is lost and the previous config serves again."""
        shutil.rmtree(self.workspace, ignore_errors=True)
        changed = False
        with self._lock:
            for endpoint in self.endpoints.values():
                if endpoint.status == "Creating" or (endpoint.status != "Failed" and not endpoint.serving_config):
                    endpoint.status, endpoint.failure_reason = "Failed", jobs.restart_error("endpoint creation")
                    changed = True
                elif endpoint.status in ("InService", "Updating", "SystemUpdating"):
                    changed |= endpoint.status != "InService" or endpoint.config_name != endpoint.serving_config
                    endpoint.status, endpoint.config_name = "InService", endpoint.serving_config
                    threading.Thread(target=self._serve, args=(endpoint.name, endpoint.serving_config, True),
                                     daemon=True).start()
        return changed

    def _save(self) -> None:
        try:
            self.context.store.save(STATE)
        except Exception:
            log.exception("could not persist SageMaker hosting state")

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.context.region}:{self.context.account_id}:{kind}/{name.lower()}"

    # ---- models and configs --------------------------------------------------------------------------------

    def create_model(self, request: dict) -> Model:
        name = request["ModelName"]
        try:
            container = bundle.primary_container(request)
        except bundle.BundleError as exc:
            raise ValidationException(str(exc)) from None
        if not container.get("Image"):
            raise ValidationException("PrimaryContainer.Image is required.")
        with self.context.store.mutation(STATE), self._lock:
            if name in self.models:
                raise ValidationException(f'Cannot create already existing model "{self._arn("model", name)}".')
            model = self.models[name] = Model(name, self._arn("model", name), copy.deepcopy(request))
        return model

    def model(self, name: str) -> Model:
        with self._lock:
            if name not in self.models:
                raise not_found("model", name)
            return self.models[name]

    def delete_model(self, name: str) -> None:
        with self.context.store.mutation(STATE), self._lock:
            if name not in self.models:
                raise ValidationException(f'Could not find model "{self._arn("model", name)}".')
            del self.models[name]

    def create_endpoint_config(self, request: dict) -> EndpointConfig:
        name = request["EndpointConfigName"]
        variants = request.get("ProductionVariants") or []
        if not variants:
            raise ValidationException("ProductionVariants must name at least one variant.")
        for variant in variants:
            if variant.get("ModelName") not in self.models:
                raise ValidationException(f"Could not find model \"{self._arn('model', str(variant.get('ModelName')))}\".")
        with self.context.store.mutation(STATE), self._lock:
            if name in self.configs:
                raise ValidationException(f'Cannot create already existing endpoint configuration '
                                          f'"{self._arn("endpoint-config", name)}".')
            config = self.configs[name] = EndpointConfig(name, self._arn("endpoint-config", name),
                                                         copy.deepcopy(request))
        return config

    def config(self, name: str) -> EndpointConfig:
        with self._lock:
            if name not in self.configs:
                raise ValidationException(f'Could not find endpoint configuration '
                                          f'"{self._arn("endpoint-config", name)}".')
            return self.configs[name]

    def delete_endpoint_config(self, name: str) -> None:
        with self.context.store.mutation(STATE), self._lock:
            self.config(name)
            del self.configs[name]

    # ---- endpoints -----------------------------------------------------------------------------------------

    def create_endpoint(self, name: str, config_name: str, tags: list | None) -> Endpoint:
        with self.context.store.mutation(STATE), self._lock:
            if name in self.endpoints:
                raise ValidationException(f'Cannot create already existing endpoint "{self._arn("endpoint", name)}".')
            self.config(config_name)
            endpoint = self.endpoints[name] = Endpoint(name, self._arn("endpoint", name), config_name,
                                                       tags=list(tags or []))
        threading.Thread(target=self._serve, args=(name, config_name, False), daemon=True).start()
        return endpoint

    def update_endpoint(self, name: str, config_name: str) -> Endpoint:
        with self.context.store.mutation(STATE), self._lock:
            endpoint = self.endpoint(name)
            self.config(config_name)
            if endpoint.status != "InService":
                raise ValidationException(f"Cannot update endpoint {name}: it is {endpoint.status}, not InService.")
            endpoint.status, endpoint.config_name, endpoint.last_modified = "Updating", config_name, now()
            endpoint.failure_reason = None
        threading.Thread(target=self._serve, args=(name, config_name, False), daemon=True).start()
        return endpoint

    def endpoint(self, name: str) -> Endpoint:
        with self._lock:
            if name not in self.endpoints:
                raise ValidationException(f'Could not find endpoint "{self._arn("endpoint", name)}".')
            return self.endpoints[name]

    def delete_endpoint(self, name: str) -> None:
        with self.context.store.mutation(STATE), self._lock:
            self.endpoint(name)
            del self.endpoints[name]
            server = self.servers.pop(name, None)
        if server is not None:
            server.retire()

    def _serve(self, name: str, config_name: str, restoring: bool) -> None:
        """Starts the config's model server; on success it takes the endpoint's traffic."""
        try:
            with self._lock:
                variant = self.config(config_name).request["ProductionVariants"][0]
                model = self.model(variant["ModelName"])
            folder = self.workspace / name / uuid.uuid4().hex[:8]
            server = ModelServer(self.context, name, model, folder)
            server.wait_ready()
        except (bundle.BundleError, ServerFailed, jobs.JobStartError, ValidationException) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            self._serving_failed(name, reason)
            return
        with self._lock:
            endpoint = self.endpoints.get(name)
            if endpoint is None or endpoint.config_name != config_name:  # deleted or updated again meanwhile
                server.retire()
                return
            previous = self.servers.get(name)
            self.servers[name] = server
            endpoint.status, endpoint.serving_config, endpoint.last_modified = "InService", config_name, now()
        if previous is not None:
            previous.retire()
        if not restoring:
            self._save()

    def _serving_failed(self, name: str, reason: str) -> None:
        with self._lock:
            endpoint = self.endpoints.get(name)
            if endpoint is None:
                return
            endpoint.failure_reason, endpoint.last_modified = reason[:1024], now()
            if endpoint.status == "Updating" and endpoint.serving_config:
                # AWS rolls a failed update back: the previous config keeps serving.
                endpoint.status, endpoint.config_name = "InService", endpoint.serving_config
            else:
                endpoint.status = "Failed"
        self._save()

    def server_for(self, name: str, wait: float = READY_TIMEOUT) -> tuple[Endpoint, ModelServer]:
        """The server taking the endpoint's traffic (waits while a restored endpoint's server starts)."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                endpoint = self.endpoints.get(name)
                server = self.servers.get(name)
            if endpoint is None:
                raise LookupError(name)
            if server is not None:
                return endpoint, server
            if endpoint.status not in ("InService",) or time.monotonic() > deadline:
                raise RuntimeError(f"Endpoint {name} is {endpoint.status}, not ready to serve")
            time.sleep(0.05)
