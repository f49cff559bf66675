"""The local cloud's WSGI application and server.

Routing: a request whose SigV4 signing name (or X-Amz-Target prefix) belongs to one of our services goes to it;
an operation our service does not define, and every other request, goes to moto's dispatcher in this process.
Mutations are made durable before the response is sent.
"""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from mwaa_local.cloud import faults, moto_state
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.service import JsonService
from mwaa_local.cloud.services import build_services
from mwaa_local.cloud.state import StateStore

log = logging.getLogger(__name__)

HEALTH_PATH = "/_localcloud/health"
READ_METHODS = ("GET", "HEAD", "OPTIONS")
READ_OPERATION_PREFIXES = ("Get", "List", "Describe", "Search", "BatchGet", "Head")
# S3 subresources whose requests change an existing object in place (see StateStore.forget_s3_objects).
S3_IN_PLACE_SUBRESOURCES = ("acl", "retention", "legal-hold", "restore")


def signing_name(environ: dict) -> str | None:
    """The service in the SigV4 credential scope: 'Credential=AKID/20260101/us-east-1/glue/aws4_request'."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[3]
    except IndexError:
        return None


class LocalCloud:
    def __init__(self, context: CloudContext, services: list[JsonService]):
        self.context = context
        self.services = services
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.started = time.time()

    def __call__(self, environ: dict, start_response):
        if environ.get("PATH_INFO") == HEALTH_PATH:
            return self._health()(environ, start_response)
        if environ.get("PATH_INFO") == faults.PATH:
            return faults.handle(Request(environ))(environ, start_response)
        services = self._our_services(environ)
        if services:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            for service in services:  # several may share a signing name (sagemaker, sagemaker-runtime)
                environ["wsgi.input"] = io.BytesIO(body)
                response = service.handle(Request(environ))
                if response is not NotImplemented:
                    return response(environ, start_response)
            environ["wsgi.input"] = io.BytesIO(body)  # fall through to moto with the body intact
        return self._moto(environ, start_response)

    def _our_services(self, environ: dict) -> list[JsonService]:
        name = signing_name(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[0]
        return [service for service in self.services
                if name == service.signing_name or (target and target == service.target_prefix)]

    def _moto(self, environ: dict, start_response):
        app = self.moto.get_application(environ)
        if not self._is_mutation(environ):
            return app(environ, start_response)
        backend = next(name for name, instance in self.moto.app_instances.items() if instance is app)
        state = moto_state.register_moto_backend(self.context.store, backend)
        if backend == "s3" and _has_subresource(environ, S3_IN_PLACE_SUBRESOURCES):
            self.context.store.forget_s3_objects()
        with self.context.store.mutation(state):
            return [b"".join(app(environ, start_response))]

    @staticmethod
    def _is_mutation(environ: dict) -> bool:
        if environ.get("REQUEST_METHOD") in READ_METHODS:
            return False
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        return not (operation and operation.startswith(READ_OPERATION_PREFIXES))

    def _health(self) -> Response:
        body = {
            "status": "ok",
            "services": sorted({s.signing_name for s in self.services}),
            "persistent": self.context.store.persistent,
            "state_dir": str(self.context.state_dir) if self.context.state_dir else None,
            "uptime_s": round(time.time() - self.started, 3),
        }
        return Response(json.dumps(body), 200, content_type="application/json")


def _has_subresource(environ: dict, names: tuple[str, ...]) -> bool:
    query = environ.get("QUERY_STRING", "")
    return any(part.split("=", 1)[0] in names for part in query.split("&"))


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per request drowns real output
        if log.isEnabledFor(logging.DEBUG):
            super().log_request(*args, **kwargs)


def create_app(state_dir: Path | None, endpoint_url: str) -> LocalCloud:
    store = StateStore(state_dir)
    context = CloudContext(store=store, endpoint_url=endpoint_url)
    for snapshot in sorted((state_dir / "snapshots").glob("moto.*.pkl")) if state_dir else []:
        moto_state.register_moto_backend(store, snapshot.stem.removeprefix("moto."))
    app = LocalCloud(context, build_services(context))
    restored = store.restore_all()
    if restored:
        log.info("restored state: %s", ", ".join(restored))
    return app


def serve(host: str, port: int, state_dir: Path | None, on_ready=None) -> None:
    endpoint_url = f"http://{host}:{port}"
    app = create_app(state_dir, endpoint_url)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    if on_ready:
        on_ready(endpoint_url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
