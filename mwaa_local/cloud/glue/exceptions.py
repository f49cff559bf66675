"""Glue's errors, with the codes botocore maps to exception classes."""

from __future__ import annotations

from mwaa_local.cloud.service import ServiceError, ValidationException

__all__ = ["ConcurrentRunsExceeded", "CrawlerNotRunning", "CrawlerRunning", "EntityNotFound", "InvalidInput",
           "ValidationException"]


class EntityNotFound(ServiceError):
    def __init__(self, message: str):
        super().__init__("EntityNotFoundException", message)


class InvalidInput(ServiceError):
    def __init__(self, message: str):
        super().__init__("InvalidInputException", message)


class ConcurrentRunsExceeded(ServiceError):
    def __init__(self, message: str):
        super().__init__("ConcurrentRunsExceededException", message)


class CrawlerRunning(ServiceError):
    def __init__(self, message: str):
        super().__init__("CrawlerRunningException", message)


class CrawlerNotRunning(ServiceError):
    def __init__(self, message: str):
        super().__init__("CrawlerNotRunningException", message)
