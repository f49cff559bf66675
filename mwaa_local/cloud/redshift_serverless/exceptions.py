"""Redshift Serverless errors, with the codes botocore maps to exception classes."""

from __future__ import annotations

from mwaa_local.cloud.service import ResourceNotFoundException, ServiceError, ValidationException

__all__ = ["ConflictException", "ResourceNotFoundException", "ValidationException"]


class ConflictException(ServiceError):
    def __init__(self, message: str):
        super().__init__("ConflictException", message)
