"""Base for the services the local cloud implements itself (the "responses" side, as in moto).

A service turns one AWS JSON-protocol request (X-Amz-Target: <Prefix>.<Operation>) into a call of its
snake_case method with the decoded parameters, and the method's dict into the JSON response. Operations a
service does not define fall through to moto (return NotImplemented from `handle`).
"""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import json
import logging
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from mwaa_local.cloud.client import READ_OPERATION_PREFIXES

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An AWS error response: `code` is the error type botocore maps to an exception class."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class ValidationException(ServiceError):
    def __init__(self, message: str):
        super().__init__("ValidationException", message)


class ResourceNotFoundException(ServiceError):
    def __init__(self, message: str):
        super().__init__("ResourceNotFoundException", message)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):  # the JSON protocols carry timestamps as epoch seconds
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def snake_case(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", operation).lower()


_ROUTES: dict[type, frozenset[str]] = {}  # each service class's operations, computed once


class JsonService:
    """Subclasses set `signing_name` and `target_prefix` and define one method per operation they serve."""

    signing_name: str = ""
    target_prefix: str = ""
    # Operations that change state (snapshotted after the call); reads are everything else.
    read_prefixes = READ_OPERATION_PREFIXES

    def operation_of(self, request: Request) -> str | None:
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, operation = target.partition(".")
        return operation if prefix == self.target_prefix and operation else None

    @classmethod
    def operations(cls) -> list[str]:
        """The operations this service serves itself (its route table), as X-Amz-Target names: the public methods
        of the service and its mixins, never the machinery defined here (handle, close, ...)."""
        machinery = set(vars(JsonService))
        own = {name for klass in cls.__mro__ if klass not in (JsonService, object)
               for name, value in vars(klass).items()
               if callable(value) and not name.startswith("_") and name not in machinery}
        return sorted("".join(part.capitalize() for part in name.split("_")) for name in own)

    def handles(self, operation: str) -> bool:
        routes = _ROUTES.get(type(self))
        if routes is None:
            routes = _ROUTES[type(self)] = frozenset(self.operations())
        return operation in routes

    def close(self) -> None:
        """Called once when the cloud stops: end what the service runs (never an operation)."""

    def handle(self, request: Request) -> Response:
        operation = self.operation_of(request)
        if not operation or not self.handles(operation):
            return NotImplemented
        try:
            params = json.loads(request.get_data() or b"{}")
        except ValueError:
            return self.error_response(ServiceError("SerializationException", "request body is not valid JSON"))
        method = getattr(self, snake_case(operation))
        try:
            inspect.signature(method).bind(**params)
        except TypeError as exc:
            return self.error_response(ValidationException(f"{operation}: {exc}"))
        try:
            result = method(**params)
        except ServiceError as exc:
            return self.error_response(exc)
        return Response(json.dumps(result or {}, default=_json_default), 200, content_type="application/x-amz-json-1.1")

    @staticmethod
    def error_response(error: ServiceError) -> Response:
        body = {"__type": error.code, "message": error.message, "Message": error.message}
        return Response(json.dumps(body), error.status, content_type="application/x-amz-json-1.1",
                        headers={"x-amzn-ErrorType": error.code})

    def is_mutation(self, operation: str) -> bool:
        return not operation.startswith(self.read_prefixes)
