"""Malformed AWS JSON-protocol requests (X-Amz-Target: <Prefix>.<Operation>) get the 400 AWS gives, before any
service (ours or moto's) sees them: a body that is not a JSON object is a SerializationException, an operation the
service's botocore model does not have is an UnknownOperationException, a parameter of the wrong type a
SerializationException, and a missing required parameter (or one below its minimum) a ValidationException.

The model is botocore's, found by the SigV4 signing name (which names the service for every JSON service the
project uses); a request whose service has no botocore model of that name is only checked for a JSON object body.
"""

from __future__ import annotations

import json
from functools import lru_cache

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator, ValidationErrors

# botocore's validator reports these for a value of the wrong JSON type; AWS fails those while deserializing.
SERIALIZATION_PROBLEMS = ("invalid type", "invalid type for document", "unable to encode to json")


class MalformedRequest(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@lru_cache(maxsize=1)
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@lru_cache(maxsize=64)
def service_model(signing_name: str, target_prefix: str) -> ServiceModel | None:
    """botocore's model of the JSON service signed as `signing_name` whose targets start with `target_prefix`."""
    try:
        model = _botocore_session().get_service_model(signing_name)
    except UnknownServiceError:
        return None
    return model if model.metadata.get("targetPrefix") == target_prefix else None


def parse_body(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("SerializationException", "Start of structure or map found where not expected: "
                               "the request body is not valid JSON") from None
    except RecursionError:
        raise MalformedRequest("SerializationException", "the request body nests JSON too deeply") from None
    if not isinstance(params, dict):
        raise MalformedRequest("SerializationException",
                               f"the request body must be a JSON object, not {type(params).__name__}")
    return params


def operation(model: ServiceModel, name: str) -> OperationModel:
    if name not in model.operation_names:
        raise MalformedRequest("UnknownOperationException",
                               f"{model.metadata.get('targetPrefix')}.{name} is not an operation of "
                               f"{model.service_name}")
    return model.operation_model(name)


def validate(operation_model: OperationModel, params: dict) -> None:
    """Raises MalformedRequest for parameters the operation's input shape does not accept (JSON wire form:
    timestamps as epoch numbers and blobs as base64 strings are valid, as botocore's validator allows both).
    Members the model does not know are left to the service: a client with a newer model may send them."""
    shape = operation_model.input_shape
    if shape is None:
        return
    report = ParamValidator().validate(params, shape)
    # The report has no public accessor for its entries; (reason, name, details) tuples since botocore 1.x.
    problems = [error for error in getattr(report, "_errors", []) if error[0] != "unknown field"]
    if not problems:
        return
    kept = ValidationErrors()
    for reason, name, details in problems:
        kept.report(name, reason, **details)
    code = "SerializationException" if any(p[0] in SERIALIZATION_PROBLEMS for p in problems) else "ValidationException"
    raise MalformedRequest(code, f"{operation_model.name}: {kept.generate_report()}")
