"""MWAA's errors, with the codes and members botocore's model gives them (REST-JSON: x-amzn-ErrorType + body)."""

from __future__ import annotations

from typing import Any

from mwaa_local.cloud.service import ServiceError


class MwaaError(ServiceError):
    """`members` are the error shape's own members (RestApiStatusCode, RestApiResponse), put in the body."""

    members: dict[str, Any] = {}

    def body(self) -> dict:
        return {"message": self.message, "Message": self.message, **self.members}


class ValidationException(MwaaError):
    def __init__(self, message: str):
        super().__init__("ValidationException", message, 400)


class ResourceNotFoundException(MwaaError):
    def __init__(self, name: str):
        super().__init__("ResourceNotFoundException", f"Environment {name} was not found.", 404)


class AccessDeniedException(MwaaError):
    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message, 403)


class RestApiClientException(MwaaError):
    """Airflow answered 4xx: its status and response travel in the error (botocore's model: HTTP 400)."""

    def __init__(self, status: int, response: Any, message: str):
        super().__init__("RestApiClientException", message, 400)
        self.members = {"RestApiStatusCode": status, "RestApiResponse": response}


class RestApiServerException(MwaaError):
    """Airflow answered 5xx, or there is no Airflow to answer."""

    def __init__(self, status: int, response: Any, message: str):
        super().__init__("RestApiServerException", message, 400)
        self.members = {"RestApiStatusCode": status, "RestApiResponse": response}
