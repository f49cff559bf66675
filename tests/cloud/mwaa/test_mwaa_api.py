"""The MWAA API of the local cloud through boto3: AWS's shapes (checked against botocore's model) and errors,
object versions pinned as MWAA pins them, UPDATING -> AVAILABLE, UPDATE_FAILED keeping the previous version,
state across a restart, and InvokeRestApi's answer when no local Airflow runs."""

from __future__ import annotations

import signal
import time
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mwaa_local.cloud import process
from tests.cloud.redshift_data.conftest import assert_shape

ROLE = "arn:aws:iam::123456789012:role/mwaa-exec"
BLOCK_ALL = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
GOOD_REQUIREMENTS = b"--constraint \"https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt\"\n"
# boto3 is pinned by MWAA: asking for another version cannot resolve.
BAD_REQUIREMENTS = GOOD_REQUIREMENTS + b"boto3==1.20.0\n"


def _shape(operation: str, response: dict) -> None:
    assert_shape(operation, response, service="mwaa")


def _error(call, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value


@pytest.fixture
def mwaa(aws):
    return aws("mwaa", config=Config(inject_host_prefix=False))


@pytest.fixture
def bucket(aws):
    s3 = aws("s3")
    name = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=BLOCK_ALL)
    return name


def _wait(mwaa, name: str, deadline_s: float = 120) -> dict:
    """Polls until the environment leaves CREATING/UPDATING; returns the statuses seen and the last shape."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        env = mwaa.get_environment(Name=name)["Environment"]
        if env["Status"] not in ("CREATING", "UPDATING"):
            return env
        time.sleep(0.2)
    raise AssertionError(f"{name} still {env['Status']}")


def _create(mwaa, name: str, bucket: str, **extra) -> dict:
    answer = mwaa.create_environment(Name=name, ExecutionRoleArn=ROLE, SourceBucketArn=f"arn:aws:s3:::{bucket}",
                                     DagS3Path="dags", NetworkConfiguration={}, **extra)
    _shape("CreateEnvironment", answer)
    return _wait(mwaa, name)


def test_create_get_list_delete_with_aws_shapes(mwaa, aws, bucket):
    version = aws("s3").put_object(Bucket=bucket, Key="plugins.zip", Body=b"zip")["VersionId"]
    name = f"env-{uuid.uuid4().hex[:8]}"
    env = _create(mwaa, name, bucket, PluginsS3Path="plugins.zip")
    got = mwaa.get_environment(Name=name)
    _shape("GetEnvironment", got)
    assert env["Status"] == "AVAILABLE" and env["LastUpdate"]["Status"] == "SUCCESS"
    assert env["PluginsS3ObjectVersion"] == version  # no version given: the latest one, pinned
    assert env["AirflowVersion"] == "3.3.1" and env["Arn"].endswith(f":environment/{name}")
    listed = mwaa.list_environments()
    _shape("ListEnvironments", listed)
    assert name in listed["Environments"]
    _shape("DeleteEnvironment", mwaa.delete_environment(Name=name))
    assert _error(mwaa.get_environment, Name=name).response["Error"]["Code"] == "ResourceNotFoundException"
    assert name not in mwaa.list_environments()["Environments"]


def test_bucket_must_be_versioned_and_private(mwaa, aws):
    s3 = aws("s3")
    name = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    error = _error(mwaa.create_environment, Name="env-unversioned", ExecutionRoleArn=ROLE,
                   SourceBucketArn=f"arn:aws:s3:::{name}", DagS3Path="dags", NetworkConfiguration={})
    assert error.response["Error"]["Code"] == "ValidationException" and "versioning" in str(error)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    error = _error(mwaa.create_environment, Name="env-public", ExecutionRoleArn=ROLE,
                   SourceBucketArn=f"arn:aws:s3:::{name}", DagS3Path="dags", NetworkConfiguration={})
    assert "public access" in str(error)
    assert "env-public" not in mwaa.list_environments()["Environments"]


def test_errors_carry_awss_codes(mwaa, bucket):
    assert _error(mwaa.get_environment, Name="missing").response["Error"]["Code"] == "ResourceNotFoundException"
    assert _error(mwaa.create_environment, Name="1bad", ExecutionRoleArn=ROLE, SourceBucketArn=f"arn:aws:s3:::{bucket}",
                  DagS3Path="dags", NetworkConfiguration={}).response["Error"]["Code"] == "ValidationException"
    error = _error(mwaa.create_environment, Name="env-missing-plugins", ExecutionRoleArn=ROLE,
                   SourceBucketArn=f"arn:aws:s3:::{bucket}", DagS3Path="dags", NetworkConfiguration={},
                   PluginsS3Path="plugins.zip", PluginsS3ObjectVersion="nope")
    assert error.response["Error"]["Code"] == "ValidationException" and "plugins.zip" in str(error)
    assert _error(mwaa.create_cli_token, Name="missing").response["Error"]["Code"] == "ResourceNotFoundException"


def test_update_pins_the_versions_it_is_given(mwaa, aws, bucket):
    s3 = aws("s3")
    first = s3.put_object(Bucket=bucket, Key="plugins.zip", Body=b"one")["VersionId"]
    name = f"env-{uuid.uuid4().hex[:8]}"
    _create(mwaa, name, bucket, PluginsS3Path="plugins.zip", PluginsS3ObjectVersion=first)
    second = s3.put_object(Bucket=bucket, Key="plugins.zip", Body=b"two")["VersionId"]
    _shape("UpdateEnvironment", mwaa.update_environment(Name=name, PluginsS3Path="plugins.zip",
                                                        PluginsS3ObjectVersion=second))
    assert mwaa.get_environment(Name=name)["Environment"]["Status"] == "UPDATING"
    env = _wait(mwaa, name)
    assert (env["Status"], env["PluginsS3ObjectVersion"], env["LastUpdate"]["Status"]) == \
        ("AVAILABLE", second, "SUCCESS")
    # The trap MWAA sets: a new plugins.zip named without its version keeps the old one.
    s3.put_object(Bucket=bucket, Key="plugins.zip", Body=b"three")
    mwaa.update_environment(Name=name, PluginsS3Path="plugins.zip", MaxWorkers=3)
    env = _wait(mwaa, name)
    assert env["PluginsS3ObjectVersion"] == second and env["MaxWorkers"] == 3


def test_unresolvable_requirements_fail_the_update_and_keep_the_previous_version(mwaa, aws, bucket):
    s3 = aws("s3")
    good = s3.put_object(Bucket=bucket, Key="requirements.txt", Body=GOOD_REQUIREMENTS)["VersionId"]
    name = f"env-{uuid.uuid4().hex[:8]}"
    assert _create(mwaa, name, bucket, RequirementsS3Path="requirements.txt")["Status"] == "AVAILABLE"
    bad = s3.put_object(Bucket=bucket, Key="requirements.txt", Body=BAD_REQUIREMENTS)["VersionId"]
    mwaa.update_environment(Name=name, RequirementsS3Path="requirements.txt", RequirementsS3ObjectVersion=bad)
    env = _wait(mwaa, name)
    assert env["Status"] == "UPDATE_FAILED" and env["LastUpdate"]["Status"] == "FAILED"
    assert "boto3" in env["LastUpdate"]["Error"]["ErrorMessage"]
    assert env["RequirementsS3ObjectVersion"] == good  # the previous version keeps running
    _shape("GetEnvironment", mwaa.get_environment(Name=name))


def test_tokens_and_rest_api_without_a_local_airflow(mwaa, bucket):
    name = f"env-{uuid.uuid4().hex[:8]}"
    _create(mwaa, name, bucket)
    cli = mwaa.create_cli_token(Name=name)
    _shape("CreateCliToken", cli)
    web = mwaa.create_web_login_token(Name=name)
    _shape("CreateWebLoginToken", web)
    assert web["WebToken"] != cli["CliToken"]
    error = _error(mwaa.invoke_rest_api, Name=name, Path="/dags", Method="GET")
    assert error.response["Error"]["Code"] == "RestApiServerException"
    assert error.response["RestApiStatusCode"] == 503
    assert "no local Airflow is running" in str(error) and "./mwaa-local up" in str(error)
    bad = _error(mwaa.invoke_rest_api, Name=name, Path="dags", Method="GET")
    assert bad.response["Error"]["Code"] == "ValidationException"


def test_environments_survive_a_restart(tmp_path):
    with process.start(state_dir=tmp_path / "state") as cloud:
        client = process.clients(cloud.endpoint_url)
        s3, mwaa = client("s3"), client("mwaa")
        s3.create_bucket(Bucket="restart-bucket")
        s3.put_bucket_versioning(Bucket="restart-bucket", VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket="restart-bucket", PublicAccessBlockConfiguration=BLOCK_ALL)
        version = s3.put_object(Bucket="restart-bucket", Key="startup.sh", Body=b"export A=1\n")["VersionId"]
        mwaa.create_environment(Name="kept", ExecutionRoleArn=ROLE, SourceBucketArn="arn:aws:s3:::restart-bucket",
                                DagS3Path="dags", NetworkConfiguration={}, StartupScriptS3Path="startup.sh")
        _wait(mwaa, "kept")
    with process.start(state_dir=tmp_path / "state") as cloud:
        env = process.clients(cloud.endpoint_url)("mwaa").get_environment(Name="kept")["Environment"]
        assert (env["Status"], env["StartupScriptS3ObjectVersion"]) == ("AVAILABLE", version)


def test_an_update_in_flight_when_the_cloud_dies_fails_and_keeps_the_previous_version(tmp_path, monkeypatch):
    monkeypatch.setenv("MWAA_LOCAL_MWAA_UPDATE_SECONDS", "600")  # the update stays in flight until the kill
    state = tmp_path / "state"
    cloud = process.start(state_dir=state)
    try:
        client = process.clients(cloud.endpoint_url)
        s3, mwaa = client("s3"), client("mwaa")
        s3.create_bucket(Bucket="inflight-bucket")
        s3.put_bucket_versioning(Bucket="inflight-bucket", VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket="inflight-bucket", PublicAccessBlockConfiguration=BLOCK_ALL)
        first = s3.put_object(Bucket="inflight-bucket", Key="plugins.zip", Body=b"one")["VersionId"]
        mwaa.create_environment(Name="inflight", ExecutionRoleArn=ROLE, SourceBucketArn="arn:aws:s3:::inflight-bucket",
                                DagS3Path="dags", NetworkConfiguration={}, PluginsS3Path="plugins.zip")
        assert mwaa.get_environment(Name="inflight")["Environment"]["Status"] == "CREATING"
    finally:
        cloud.stop(signal.SIGKILL)
    monkeypatch.setenv("MWAA_LOCAL_MWAA_UPDATE_SECONDS", "0")
    with process.start(state_dir=state) as cloud:
        client = process.clients(cloud.endpoint_url)
        s3, mwaa = client("s3"), client("mwaa")
        env = mwaa.get_environment(Name="inflight")["Environment"]
        assert (env["Status"], env["LastUpdate"]["Error"]["ErrorCode"]) == ("CREATE_FAILED", "INTERNAL_ERROR")
        # An environment that was AVAILABLE keeps its configuration when an update is cut short.
        mwaa.delete_environment(Name="inflight")
        _create(mwaa, "inflight", "inflight-bucket", PluginsS3Path="plugins.zip", PluginsS3ObjectVersion=first)
        second = s3.put_object(Bucket="inflight-bucket", Key="plugins.zip", Body=b"two")["VersionId"]
    monkeypatch.setenv("MWAA_LOCAL_MWAA_UPDATE_SECONDS", "600")
    cloud = process.start(state_dir=state)
    try:
        mwaa = process.clients(cloud.endpoint_url)("mwaa")
        mwaa.update_environment(Name="inflight", PluginsS3Path="plugins.zip", PluginsS3ObjectVersion=second)
        assert mwaa.get_environment(Name="inflight")["Environment"]["Status"] == "UPDATING"
    finally:
        cloud.stop(signal.SIGKILL)
    monkeypatch.setenv("MWAA_LOCAL_MWAA_UPDATE_SECONDS", "0")
    with process.start(state_dir=state) as cloud:
        env = process.clients(cloud.endpoint_url)("mwaa").get_environment(Name="inflight")["Environment"]
        assert (env["Status"], env["PluginsS3ObjectVersion"]) == ("UPDATE_FAILED", first)
        assert "restarted" in env["LastUpdate"]["Error"]["ErrorMessage"]
