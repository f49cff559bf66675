"""The local cloud's WSGI application and server.

Every request first passes the HTTP policy (http_policy: allowed Host and Origin, a SigV4 signature, admin routes)
and, for the JSON protocols, a check against botocore's model (json_requests); refusals and malformed requests get
AWS-shaped errors, and an unexpected exception an AWS-shaped 500 (details in the log, never in the response).
Routing: a request whose SigV4 signing name (or X-Amz-Target prefix) belongs to one of our services goes to it;
an operation our service does not define, and every other request, goes to moto's dispatcher in this process.
Mutations are made durable before the response is sent.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from pathlib import Path

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from mwaa_local.cloud import aws_errors, faults, json_requests, moto_state
from mwaa_local.cloud.client import HEALTH_PATH, READ_OPERATION_PREFIXES
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.http_policy import WILDCARD_ADDRESSES, HttpPolicy
from mwaa_local.cloud.service import JsonService, ServiceError
from mwaa_local.cloud.services import build_services
from mwaa_local.cloud.state import StateStore

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_localcloud/"
READ_METHODS = ("GET", "HEAD", "OPTIONS")
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
    def __init__(self, context: CloudContext, services: list[JsonService], policy: HttpPolicy):
        self.context = context
        self.services = services
        self.policy = policy
        self.moto = DomainDispatcherApplication(_create_moto_app)
        self.started = time.time()
        self.allocator: _Allocator | None = None  # set by serve(); in-process apps (tests) leave malloc alone

    def close(self) -> None:
        """The cloud is stopping: services end what they run (a long SQL statement must not hold the exit)."""
        for service in self.services:
            close = getattr(service, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("closing %s", type(service).__name__)

    def __call__(self, environ: dict, start_response):
        refusal = self.policy.refusal(environ)
        if refusal is not None:
            return refusal(environ, start_response)
        if self.policy.is_preflight(environ):
            return self.policy.preflight(environ)(environ, start_response)
        cors_start_response = self.policy.cors_start_response(environ, start_response)
        started = []

        def tracked_start_response(status, headers, exc_info=None):
            started.append(status)
            return cors_start_response(status, headers, exc_info)

        try:
            return self._serve(environ, tracked_start_response)
        except NotImplementedError as exc:  # moto's answer for an operation it has not implemented
            return self._failure(environ, cors_start_response, bool(started), 501, "NotImplemented",
                                 f"the local cloud does not implement this operation ({exc})")
        except Exception:
            log.exception("error serving %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            return self._failure(environ, cors_start_response, bool(started), 500, "InternalFailure",
                                 "the local cloud failed to process the request; its log has the details")

    @staticmethod
    def _failure(environ: dict, start_response, started: bool, status: int, code: str, message: str):
        response = aws_errors.error_response(environ, status, code, message)
        app_iter, status_line, headers = response.get_wsgi_response(environ)
        # WSGI: replacing a response a service already started takes exc_info
        start_response(status_line, headers, sys.exc_info() if started else None)
        return app_iter

    def _serve(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return self._health()(environ, start_response)
        if path == faults.PATH:
            return faults.handle(Request(environ))(environ, start_response)
        if path.startswith(ADMIN_PREFIX):
            return aws_errors.error_response(environ, 404, "NotFound", f"no admin route {path}; there are "
                                             f"{HEALTH_PATH} and {faults.PATH}")(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        body = _read_body(environ) if target or self.policy.verify_signatures else None
        refusal = self.policy.signature_refusal(environ, body)
        if refusal is None and target:
            refusal = self._malformed_json_request(environ, target, body)
        if refusal is not None:
            return refusal(environ, start_response)
        services = self._our_services(environ)
        if services:
            body = _read_body(environ) if body is None else body
            for service in services:  # several may share a signing name (sagemaker, sagemaker-runtime)
                environ["wsgi.input"] = io.BytesIO(body)
                response = service.handle(Request(environ))
                if response is not NotImplemented:
                    return response(environ, start_response)
            environ["wsgi.input"] = io.BytesIO(body)  # fall through to moto with the body intact
        return self._moto(environ, start_response)

    def _malformed_json_request(self, environ: dict, target: str, body: bytes) -> Response | None:
        prefix, _, name = target.partition(".")
        try:
            params = json_requests.parse_body(body)
            ours = self._our_service(environ)
            model = json_requests.service_model(ours.signing_name if ours else signing_name(environ) or "", prefix)
            if model is None:
                return None
            if ours is not None and ours.handles(name) and name not in model.operation_names:
                return None  # an operation we serve beyond botocore's model (raw callers)
            json_requests.validate(json_requests.operation(model, name), params)
        except json_requests.MalformedRequest as exc:
            return JsonService.error_response(ServiceError(exc.code, exc.message))
        return None

    def _our_service(self, environ: dict) -> JsonService | None:
        """The JSON service an X-Amz-Target request is for (its model validates the request)."""
        target = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[0]
        services = self._our_services(environ)
        return next((s for s in services if target and s.target_prefix == target), None) or next(
            (s for s in services if isinstance(s, JsonService)), None)

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
            response = [b"".join(app(environ, start_response))]
        if self.allocator is not None:
            self.allocator.after(environ)
        return response

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


def _read_body(environ: dict) -> bytes:
    """Reads the request body once and puts it back for whoever handles the request next."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    body = stream.read(int(length)) if length and length.isdigit() else (
        stream.read() if environ.get("wsgi.input_terminated") else b"")
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _create_moto_app(service: str):
    """moto's Flask app for a service, out of Flask's debug mode: in debug mode every request with a body gets an
    ad-hoc class closing over the request (flask.debughelpers), a reference cycle that kept each PutObject's and
    UploadPart's bytes alive until the cyclic garbage collector ran. Exceptions still propagate to LocalCloud."""
    app = create_backend_app(service)
    app.debug = False
    app.config["PROPAGATE_EXCEPTIONS"] = True
    return app


def _has_subresource(environ: dict, names: tuple[str, ...]) -> bool:
    query = environ.get("QUERY_STRING", "")
    return any(part.split("=", 1)[0] in names for part in query.split("&"))


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per request drowns real output
        if log.isEnabledFor(logging.DEBUG):
            super().log_request(*args, **kwargs)


def create_app(state_dir: Path | None, endpoint_url: str, policy: HttpPolicy | None = None) -> LocalCloud:
    store = StateStore(state_dir)
    context = CloudContext(store=store, endpoint_url=endpoint_url)
    for snapshot in sorted((state_dir / "snapshots").glob("moto.*.pkl")) if state_dir else []:
        moto_state.register_moto_backend(store, snapshot.stem.removeprefix("moto."))
    port = int(endpoint_url.rpartition(":")[2])
    app = LocalCloud(context, build_services(context), policy or HttpPolicy.configure("127.0.0.1", port))
    restored = store.restore_all()
    if restored:
        log.info("restored state: %s", ", ".join(restored))
    return app


class _Allocator:
    """glibc keeps the memory of freed request buffers: every request thread may get its own arena, each keeping
    the pages of the last body it read (werkzeug reads a body in small pieces), so RSS would climb with the data
    passing through. Fewer arenas, big buffers as their own mappings, and a trim after each big request keep it
    flat. Not glibc: its allocator has its own policy and this does nothing."""

    BIG_REQUEST = 1024 * 1024

    def __init__(self) -> None:
        import ctypes

        try:
            self._libc = ctypes.CDLL("libc.so.6")
            self._libc.mallopt(-8, 2)  # M_ARENA_MAX
            self._libc.mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD (fixed: no adaptive growth)
        except (OSError, AttributeError):
            self._libc = None

    def after(self, environ: dict) -> None:
        length = environ.get("CONTENT_LENGTH") or ""
        if self._libc is not None and length.isdigit() and int(length) >= self.BIG_REQUEST:
            self._libc.malloc_trim(0)


def serve(host: str, port: int, state_dir: Path | None, on_ready=None, policy: HttpPolicy | None = None) -> None:
    allocator = _Allocator()  # before the app exists, so every arena follows the settings
    # Our own clients (Glue job scripts) call back on loopback, a Host the policy always allows.
    endpoint_url = f"http://{'127.0.0.1' if host in WILDCARD_ADDRESSES else host}:{port}"
    app = create_app(state_dir, endpoint_url, policy or HttpPolicy.configure(host, port))
    app.allocator = allocator
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    if on_ready:
        on_ready(endpoint_url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.close()
