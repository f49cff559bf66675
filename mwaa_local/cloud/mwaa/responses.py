"""MWAA on the wire: REST-JSON routed by method and path (no X-Amz-Target), signing name `airflow`.

    PUT/GET/PATCH/DELETE /environments/{Name}   GET /environments
    POST /clitoken/{Name}   POST /webtoken/{Name}   POST /restapi/{Name}

Anything else (TagResource, ...) returns NotImplemented and falls through to moto. botocore puts host prefixes
(`api.`, `env.`) on these calls: clients of the local cloud use Config(inject_host_prefix=False)
(mwaa_local.cloud.process.clients does).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from werkzeug.wrappers import Request, Response

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.mwaa import airflow_link
from mwaa_local.cloud.mwaa.exceptions import (
    MwaaError,
    RestApiClientException,
    RestApiServerException,
    ValidationException,
)
from mwaa_local.cloud.mwaa.models import MwaaBackend

ROUTES = [  # (method, path pattern, operation)
    ("PUT", r"/environments/(?P<name>[^/]+)", "CreateEnvironment"),
    ("GET", r"/environments/(?P<name>[^/]+)", "GetEnvironment"),
    ("PATCH", r"/environments/(?P<name>[^/]+)", "UpdateEnvironment"),
    ("DELETE", r"/environments/(?P<name>[^/]+)", "DeleteEnvironment"),
    ("GET", r"/environments", "ListEnvironments"),
    ("POST", r"/clitoken/(?P<name>[^/]+)", "CreateCliToken"),
    ("POST", r"/webtoken/(?P<name>[^/]+)", "CreateWebLoginToken"),
    ("POST", r"/restapi/(?P<name>[^/]+)", "InvokeRestApi"),
]
REST_METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")


def _route(method: str, path: str) -> tuple[str, str] | None:
    """(operation, environment name) of a request, or None when it is not one of ours."""
    for route_method, pattern, operation in ROUTES:
        match = re.fullmatch(pattern, path)
        if match and method == route_method:
            return operation, urllib.parse.unquote(match.groupdict().get("name") or "")
    return None


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, default=_default), status, content_type="application/json")


def _default(value: Any) -> Any:
    if hasattr(value, "timestamp"):
        return value.timestamp()  # rest-json timestamps: epoch seconds
    raise TypeError(f"cannot serialise {type(value).__name__}")


def error_response(error: MwaaError) -> Response:
    body = error.body() if isinstance(error, MwaaError) else {"message": error.message, "Message": error.message}
    return Response(json.dumps(body, default=_default), error.status, content_type="application/json",
                    headers={"x-amzn-ErrorType": error.code})


class MwaaService:
    signing_name = "airflow"
    target_prefix = ""  # REST-JSON: routed by path

    def __init__(self, context: CloudContext):
        self.context = context
        self.backend = MwaaBackend(context)

    @classmethod
    def operations(cls) -> list[str]:
        """The JSON-protocol fuzz test drives X-Amz-Target services only; this one is path-routed."""
        return []

    def handles(self, operation: str) -> bool:
        return False  # no X-Amz-Target operations

    def is_mutation(self, operation: str) -> bool:
        return False  # the backend persists its own changes

    def handle(self, request: Request) -> Response:
        if request.headers.get("X-Amz-Target"):
            return NotImplemented
        routed = _route(request.method, request.path)
        if routed is None:
            return NotImplemented
        operation, name = routed
        try:
            params = json.loads(request.get_data() or b"{}")
            if not isinstance(params, dict):
                raise ValueError
        except ValueError:
            return error_response(ValidationException("The request body is not a JSON object."))
        try:
            return _json(getattr(self, operation)(name, params, request))
        except MwaaError as exc:
            return error_response(exc)

    # ---- environments ----------------------------------------------------------------------------------------

    def _shape(self, env) -> dict:
        shape = {**env.config, "Name": env.name, "Arn": env.arn, "Status": env.status, "CreatedAt": env.created,
                 "WebserverUrl": self.backend.webserver_hostname(env),
                 "ServiceRoleArn": f"arn:aws:iam::{self.context.account_id}:role/aws-service-role/"
                                   "airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA",
                 "CeleryExecutorQueue": f"arn:aws:sqs:{self.context.region}:{self.context.account_id}:"
                                        f"airflow-celery-{env.name}"}
        if env.status == "CREATING" and env.pending:  # what is being created is already described
            shape.update({k: v for k, v in env.pending.items() if k not in shape})
        shape.setdefault("Tags", {})
        if env.last_update:
            shape["LastUpdate"] = env.last_update
        return shape

    def CreateEnvironment(self, name: str, params: dict, _request) -> dict:  # noqa: N802 - AWS's names
        for member in ("ExecutionRoleArn", "SourceBucketArn", "DagS3Path", "NetworkConfiguration"):
            if member not in params:
                raise ValidationException(f"1 validation error detected: {member} is required.")
        return {"Arn": self.backend.create(name, params).arn}

    def GetEnvironment(self, name: str, _params, _request) -> dict:  # noqa: N802
        return {"Environment": self._shape(self.backend.environment(name))}

    def ListEnvironments(self, _name, _params, request) -> dict:  # noqa: N802
        names = self.backend.names()
        try:
            start = int(request.args.get("NextToken") or 0)
            size = int(request.args.get("MaxResults") or 25)
        except ValueError:
            raise ValidationException("NextToken and MaxResults must be integers.") from None
        if not 1 <= size <= 25:
            raise ValidationException("MaxResults must be between 1 and 25.")
        page = names[start:start + size]
        more = start + size < len(names)
        return {"Environments": page, **({"NextToken": str(start + size)} if more else {})}

    def UpdateEnvironment(self, name: str, params: dict, _request) -> dict:  # noqa: N802
        return {"Arn": self.backend.update(name, params).arn}

    def DeleteEnvironment(self, name: str, _params, _request) -> dict:  # noqa: N802
        self.backend.delete(name)
        return {}

    # ---- tokens and the REST API -----------------------------------------------------------------------------

    def CreateCliToken(self, name: str, _params, _request) -> dict:  # noqa: N802
        token, host = self.backend.token(name)
        return {"CliToken": token, "WebServerHostname": host}

    def CreateWebLoginToken(self, name: str, _params, _request) -> dict:  # noqa: N802
        token, host = self.backend.token(name)
        return {"WebToken": token, "WebServerHostname": host,
                "IamIdentity": f"arn:aws:iam::{self.context.account_id}:user/local",
                "AirflowIdentity": "admin"}

    def InvokeRestApi(self, name: str, params: dict, _request) -> dict:  # noqa: N802
        env = self.backend.environment(name)
        path, method = params.get("Path"), params.get("Method")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValidationException("Path must be an Airflow REST API path starting with /, e.g. /dags.")
        if method not in REST_METHODS:
            raise ValidationException(f"Method must be one of {', '.join(REST_METHODS)}.")
        if env.status not in ("AVAILABLE", "UPDATING", "UPDATE_FAILED"):
            raise ValidationException(f"Environment {name} is {env.status}; its REST API is not available.")
        query = params.get("QueryParameters")
        if query is not None and not isinstance(query, dict):
            raise ValidationException("QueryParameters must be a JSON object.")
        try:
            answer = airflow_link.invoke(name, method, path, query, params.get("Body"))
        except airflow_link.NoAirflow as exc:
            raise RestApiServerException(503, {"detail": str(exc)}, str(exc)) from None
        if answer.status >= 500:
            raise RestApiServerException(answer.status, answer.body, f"Airflow answered HTTP {answer.status}.")
        if answer.status >= 400:
            detail = answer.body.get("detail") if isinstance(answer.body, dict) else answer.body
            raise RestApiClientException(answer.status, answer.body,
                                         f"Airflow answered HTTP {answer.status}: {detail}")
        return {"RestApiStatusCode": answer.status, "RestApiResponse": answer.body}
