"""The templates (with their parameters) create the names and definitions the DAGs read."""

import dataclasses

import pytest

from mwaa_local.infra.agreement import disagreements
from mwaa_local.infra.templates import environments, load_environment


def test_every_platform_environment_has_parameters():
    import yaml

    from mwaa_platform.paths import include_path

    platform = yaml.safe_load(include_path("config", "platform.yaml").read_text())["environments"]
    assert sorted(platform) == environments()


@pytest.mark.parametrize("env", ["local", "production"])
def test_templates_agree_with_the_dags(env):
    assert disagreements(env) == []


def _with(env: str, **changes) -> object:
    real = load_environment(env)
    return dataclasses.replace(real, parameters={**real.parameters, **changes})


def test_a_renamed_bucket_is_caught_in_names_and_in_the_crawler():
    problems = disagreements("local", _with("local", DataLakeBucketName="other-lake"))
    assert any("data lake bucket" in p for p in problems)
    assert any("crawler definition" in p and "s3://other-lake/raw/" in p for p in problems)


@pytest.mark.parametrize("parameter, what", [
    ("GlueCrawlerName", "Glue crawler name"), ("GlueJobName", "Glue job name"),
    ("RedshiftWorkgroupName", "Redshift workgroup"), ("GlueRoleName", "Glue role"),
    ("RedshiftRoleName", "Redshift COPY role"), ("EnvironmentName", "MWAA environment"),
    ("MwaaBucketName", "MWAA bucket"),
])
def test_each_renamed_resource_is_caught(parameter, what):
    problems = disagreements("production", _with("production", **{parameter: "renamed-x"}))
    assert any(p.startswith(f"production: {what}:") for p in problems), problems
