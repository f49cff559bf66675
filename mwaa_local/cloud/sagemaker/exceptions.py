"""SageMaker's errors, with the codes botocore maps to exception classes. A missing resource in a Describe* is a
ValidationException on SageMaker (the Airflow provider's name-collision check relies on that code)."""

from __future__ import annotations

from mwaa_local.cloud.service import ServiceError, ValidationException

__all__ = ["ResourceInUse", "ResourceLimitExceeded", "ValidationException", "not_found"]


class ResourceInUse(ServiceError):
    def __init__(self, message: str):
        super().__init__("ResourceInUse", message)


class ResourceLimitExceeded(ServiceError):
    def __init__(self, message: str):
        super().__init__("ResourceLimitExceeded", message)


def not_found(kind: str, name: str) -> ValidationException:
    return ValidationException(f"Requested resource not found: {kind} {name} does not exist.")
