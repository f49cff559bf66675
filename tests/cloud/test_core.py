"""The local cloud process: health, moto pass-through, persistence across a crash."""

from __future__ import annotations

import signal

import pytest

from mwaa_local.cloud import process

_clients = process.clients


def test_health_reports_state_dir(local_cloud):
    health = process.health(local_cloud.endpoint_url)
    assert health["status"] == "ok"
    assert health["persistent"] is True
    assert health["state_dir"] == str(local_cloud.state_dir)


def test_passthrough_services_answer(aws):
    assert aws("sts").get_caller_identity()["Account"] == "123456789012"
    aws("s3").create_bucket(Bucket="core-passthrough")
    aws("s3").put_object(Bucket="core-passthrough", Key="a.txt", Body=b"hello")
    assert aws("s3").get_object(Bucket="core-passthrough", Key="a.txt")["Body"].read() == b"hello"
    aws("secretsmanager").create_secret(Name="core/secret", SecretString="s3cret")
    assert aws("secretsmanager").get_secret_value(SecretId="core/secret")["SecretString"] == "s3cret"


def test_state_survives_sigkill(tmp_path):
    cloud = process.start(state_dir=tmp_path)
    aws = _clients(cloud.endpoint_url)
    s3 = aws("s3")
    s3.create_bucket(Bucket="survivor")
    s3.put_bucket_versioning(Bucket="survivor", VersioningConfiguration={"Status": "Enabled"})
    versions = [s3.put_object(Bucket="survivor", Key=f"k{i}", Body=bytes([i]) * 1000)["VersionId"] for i in range(5)]
    aws("secretsmanager").create_secret(Name="airflow/variables/x", SecretString="42")
    aws("glue").create_database(DatabaseInput={"Name": "survivor_db"})
    cloud.stop(signal.SIGKILL)

    cloud = process.start(state_dir=tmp_path)
    try:
        aws = _clients(cloud.endpoint_url)
        s3 = aws("s3")
        for i, version in enumerate(versions):
            obj = s3.get_object(Bucket="survivor", Key=f"k{i}")
            assert obj["VersionId"] == version
            assert obj["Body"].read() == bytes([i]) * 1000
        assert aws("secretsmanager").get_secret_value(SecretId="airflow/variables/x")["SecretString"] == "42"
        assert [d["Name"] for d in aws("glue").get_databases()["DatabaseList"]] == ["survivor_db"]
    finally:
        cloud.stop()


def test_ephemeral_keeps_nothing(tmp_path):
    with process.start(ephemeral=True) as cloud:
        _clients(cloud.endpoint_url)("s3").create_bucket(Bucket="gone")
    with process.start(ephemeral=True) as cloud:
        assert _clients(cloud.endpoint_url)("s3").list_buckets()["Buckets"] == []


def test_keeps_serving_after_an_error(aws):
    s3 = aws("s3")
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.get_object(Bucket="no-such-bucket-anywhere", Key="x")
    assert aws("sts").get_caller_identity()["Account"] == "123456789012"


def test_in_place_object_changes_survive_sigkill(tmp_path):
    """An ACL change mutates moto's object in place; the snapshot must not reuse the object's stale blob."""
    cloud = process.start(state_dir=tmp_path)
    s3 = _clients(cloud.endpoint_url)("s3")
    s3.create_bucket(Bucket="acl-survivor")
    s3.put_object(Bucket="acl-survivor", Key="k", Body=b"v")
    s3.put_object(Bucket="acl-survivor", Key="other", Body=b"w")  # a snapshot that reuses k's blob
    s3.put_object_acl(Bucket="acl-survivor", Key="k", ACL="public-read")
    cloud.stop(signal.SIGKILL)

    cloud = process.start(state_dir=tmp_path)
    try:
        grants = _clients(cloud.endpoint_url)("s3").get_object_acl(Bucket="acl-survivor", Key="k")["Grants"]
        assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)
    finally:
        cloud.stop()
