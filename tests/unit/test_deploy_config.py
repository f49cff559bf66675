"""Deploy's configuration errors (one actionable line each) and the rule that decides UpdateEnvironment's members."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaa_local.deploy import config, plan
from mwaa_local.errors import UserError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    return path


def test_the_shipped_configuration_has_local_and_a_production_to_fill_in():
    local = config.load("local")
    assert (local.environment, local.bucket, local.dag_prefix, local.local_cloud) == \
        ("mwaa-local", "mwaa-local-dags", "dags/", True)
    with pytest.raises(UserError, match="still has CHANGE-ME in bucket"):
        config.load("production")


@pytest.mark.parametrize(("text", "message"), [
    ("environments: [", "is not valid YAML"),
    ("nothing: here\n", "has no `environments:` mapping"),
    ("environments:\n  x:\n    region: r\n", "lacks environment, bucket, dag_s3_path"),
    ("environments:\n  x:\n    region: r\n    environment: e\n    bucket: b\n    dag_s3_path: d\n    colour: red\n",
     "unknown key(s) colour"),
])
def test_bad_configurations_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(UserError) as raised:
        config.load("x", _write(tmp_path, text))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_update_names_exactly_the_versions_the_environment_does_not_run():
    decided = plan.Plan(file_keys={"plugins": "plugins.zip", "requirements": "requirements.txt",
                                   "startup": "startup.sh"})
    running = {"PluginsS3Path": "plugins.zip", "PluginsS3ObjectVersion": "p1",
               "RequirementsS3Path": "requirements.txt", "RequirementsS3ObjectVersion": "r1"}
    assert plan.update_parameters(decided, {"plugins": "p1", "requirements": "r1", "startup": "s1"}, running) == \
        {"StartupScriptS3Path": "startup.sh", "StartupScriptS3ObjectVersion": "s1"}
    assert plan.update_parameters(decided, {"plugins": "p2", "requirements": "r1"}, running) == \
        {"PluginsS3Path": "plugins.zip", "PluginsS3ObjectVersion": "p2"}
    assert plan.update_parameters(decided, {"plugins": "p1", "requirements": "r1"}, running) == {}
