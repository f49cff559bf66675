"""Redshift Data API errors (the API's own codes; SQL errors are not exceptions here but FAILED statements)."""

from __future__ import annotations

from mwaa_local.cloud.service import ResourceNotFoundException, ValidationException

__all__ = ["ResourceNotFoundException", "ValidationException"]
