"""The self-check against the local cloud: real STS and S3 calls, connection lookups from a dict."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mwaa_platform.environment_check import EnvironmentCheckFailed, run_checks
from mwaa_platform.settings import SettingsError, settings


def _settings(**overrides):
    base = {
        "mwaa_bucket": "selfcheck-dags",
        "data_lake_bucket": "selfcheck-lake",
        "required_connections": ["aws_default", "retail_source_db"],
        "required_variables": ["feature_window_days"],
    }
    return {**base, **overrides}


def _lookup(found: dict):
    def get(key):
        if key not in found:
            raise LookupError(f"{key} not found in the secrets backend")
        return found[key]
    return get


def test_everything_present_passes(aws):
    aws("s3").create_bucket(Bucket="selfcheck-dags")
    aws("s3").create_bucket(Bucket="selfcheck-lake")
    connections = {"aws_default": SimpleNamespace(conn_type="aws"), "retail_source_db": SimpleNamespace(conn_type="postgres")}
    results = run_checks(_settings(), aws("sts"), aws("s3"), _lookup(connections), _lookup({"feature_window_days": "30"}))
    assert all(r.ok for r in results), [str(r) for r in results]
    assert [r.name for r in results] == [
        "AWS identity", "bucket mwaa_bucket (s3://selfcheck-dags)", "bucket data_lake_bucket (s3://selfcheck-lake)",
        "connection aws_default", "connection retail_source_db", "variable feature_window_days",
    ]


def test_every_missing_item_is_reported_at_once(aws):
    results = run_checks(
        _settings(mwaa_bucket="selfcheck-missing-dags", data_lake_bucket="selfcheck-missing-lake"),
        aws("sts"), aws("s3"), _lookup({"aws_default": SimpleNamespace(conn_type="aws")}), _lookup({}),
    )
    error = EnvironmentCheckFailed(results)
    message = str(error)
    assert message.startswith("4 of 6 environment checks failed")
    for missing in ("selfcheck-missing-dags", "data_lake_bucket", "connection retail_source_db", "variable feature_window_days"):
        assert missing in message


def test_settings_reject_unknown_environment():
    with pytest.raises(SettingsError, match="unknown PLATFORM_ENV 'nowhere'"):
        settings("nowhere")


def test_settings_local_has_what_pipelines_need():
    local = settings("local")
    assert local.get_path("redshift.workgroup") == "local-wg"
    with pytest.raises(SettingsError, match="redshift.nope"):
        local.get_path("redshift.nope")
