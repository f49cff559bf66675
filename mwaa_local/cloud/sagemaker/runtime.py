"""sagemaker-runtime on the wire: InvokeEndpoint (REST-JSON, routed by path: POST /endpoints/<name>/invocations).
It shares the signing name `sagemaker` with the control plane, so the server tries it by path first."""

from __future__ import annotations

import json
import re

import urllib3
from werkzeug.wrappers import Request, Response

from mwaa_local.cloud.context import CloudContext

INVOCATIONS = re.compile(r"^/endpoints/([^/]+)/invocations$")
MAX_BODY = 6 * 1024 * 1024  # AWS: 6 MB per real-time request


def _error(code: str, message: str, status: int, **extra) -> Response:
    body = {"message": message, "Message": message, **extra}
    return Response(json.dumps(body), status, content_type="application/json",
                    headers={"x-amzn-ErrorType": code})


class SageMakerRuntimeService:
    signing_name = "sagemaker"
    target_prefix = ""  # REST-JSON: no X-Amz-Target; routed by path

    def __init__(self, context: CloudContext):
        self.context = context

    def handle(self, request: Request) -> Response:
        match = INVOCATIONS.match(request.path)
        if not match or request.method != "POST" or request.headers.get("X-Amz-Target"):
            return NotImplemented
        name = match.group(1)
        sagemaker = self.context.registry.get("sagemaker")
        account = self.context.account_id
        body = request.get_data()
        if len(body) > MAX_BODY:
            return _error("ValidationError", "Request body exceeds the 6 MB limit of InvokeEndpoint.", 413)
        try:
            endpoint, server = sagemaker.hosting.server_for(name)
        except LookupError:
            return _error("ValidationError", f"Endpoint {name} of account {account} not found.", 400)
        except RuntimeError as exc:
            return _error("ValidationError", str(exc), 400)
        headers = {"Content-Type": request.headers.get("Content-Type") or "application/json"}
        if request.headers.get("Accept"):
            headers["Accept"] = request.headers["Accept"]
        try:
            answer = server.invoke(body, headers)
        except urllib3.exceptions.HTTPError as exc:
            return _error("ModelNotReadyException", f"The model server of endpoint {name} did not answer: {exc}", 429)
        log_stream = f"arn:aws:logs:{self.context.region}:{account}:log-group:/aws/sagemaker/Endpoints/{name}"
        if answer.status != 200:
            original = answer.data.decode(errors="replace")
            return _error("ModelError", f"Received client error ({answer.status}) from primary with message "
                                        f'"{original}". See {log_stream} for more information.', 424,
                          OriginalStatusCode=answer.status, OriginalMessage=original, LogStreamArn=log_stream)
        variant = "AllTraffic"
        return Response(answer.data, 200, content_type=answer.headers.get("Content-Type", "application/json"),
                        headers={"x-Amzn-Invoked-Production-Variant": variant})
