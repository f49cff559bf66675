"""The local cloud refuses what a web page or a DNS-rebinding attacker could send (foreign Host, foreign Origin,
unsigned calls) with AWS-shaped errors, while boto3, the Airflow provider's hooks and presigned URLs work unchanged.
Raw requests go through http.client (tests/cloud/raw_http.py); SDK calls through boto3 as users make them."""

from __future__ import annotations

import json
import os
import shlex
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from mwaa_local.cloud import faults, process, sigv4
from mwaa_local.cloud.http_policy import HOSTS_ENV, ORIGINS_ENV, VERIFY_ENV, HttpPolicy, PolicyError, split_host
from tests.cloud.raw_http import json_call, send, signed_headers

HOSTILE_ORIGIN = "http://evil.example"


def _port(endpoint_url: str) -> int:
    return int(endpoint_url.rpartition(":")[2])


def _has_cors(reply) -> bool:
    return any(name.startswith("access-control-") for name in reply.headers)


@pytest.fixture(scope="module")
def secret(local_cloud):
    name, value = f"security/{uuid.uuid4().hex[:8]}", "s3cret-" + uuid.uuid4().hex
    process.clients(local_cloud.endpoint_url)("secretsmanager").create_secret(Name=name, SecretString=value)
    return name, value


# --- Host: DNS rebinding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1.nip.io:{port}",
                                  "localhost:1", "127.0.0.2:{port}", "0.0.0.0:{port}", ""])
def test_a_foreign_host_is_refused_even_when_signed(local_cloud, secret, host):
    host = host.format(port=_port(local_cloud.endpoint_url))
    reply = json_call(local_cloud.endpoint_url, "secretsmanager", "secretsmanager.GetSecretValue",
                      {"SecretId": secret[0]}, host=host)
    assert reply.status == 403
    assert reply.error_code == "AccessDeniedException"
    message = reply.json()["message"]
    assert repr(host) in message and "--allowed-host" in message and HOSTS_ENV in message
    assert secret[1].encode() not in reply.body and not _has_cors(reply)


def test_a_foreign_host_cannot_reach_the_admin_routes(local_cloud):
    for path in ("/_localcloud/health", faults.PATH):
        assert send(local_cloud.endpoint_url, "GET", path, host="rebound.example:80").status == 403


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_loopback_hosts_on_the_servers_port_are_served(local_cloud, name):
    reply = send(local_cloud.endpoint_url, "GET", "/_localcloud/health",
                 host=f"{name}:{_port(local_cloud.endpoint_url)}")
    assert reply.status == 200 and reply.json()["status"] == "ok"


def test_s3_virtual_hosted_addressing_on_localhost_works(local_cloud, aws):
    aws("s3").create_bucket(Bucket="security-virtual")
    endpoint = local_cloud.endpoint_url.replace("127.0.0.1", "localhost")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test", config=Config(s3={"addressing_style": "virtual"}))
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "security-virtual"})
    assert url.startswith(endpoint.replace("localhost", "security-virtual.localhost"))
    reply = send(local_cloud.endpoint_url, "GET", url.split(str(_port(endpoint)), 1)[1],
                 host=f"security-virtual.localhost:{_port(endpoint)}")
    assert reply.status == 200 and b"security-virtual" in reply.body


# --- Origin: browsers ------------------------------------------------------------------------------------------

def test_a_hostile_origin_cannot_read_a_secret(local_cloud, secret):
    reply = json_call(local_cloud.endpoint_url, "secretsmanager", "secretsmanager.GetSecretValue",
                      {"SecretId": secret[0]}, extra={"Origin": HOSTILE_ORIGIN})
    assert reply.status == 403 and reply.error_code == "AccessDeniedException"
    assert HOSTILE_ORIGIN in reply.json()["message"] and "--allowed-origin" in reply.json()["message"]
    assert secret[1].encode() not in reply.body
    assert "access-control-allow-origin" not in reply.headers


def test_a_hostile_origin_cannot_run_sql(local_cloud, aws):
    marker = f"hostile_{uuid.uuid4().hex[:8]}"
    reply = json_call(local_cloud.endpoint_url, "redshift-data", "RedshiftData.ExecuteStatement",
                      {"Sql": f"CREATE TABLE {marker} (a INT)", "Database": "dev", "WorkgroupName": "local-wg"},
                      extra={"Origin": HOSTILE_ORIGIN})
    assert reply.status == 403 and not _has_cors(reply)
    statements = aws("redshift-data").list_statements(Status="ALL", MaxResults=100)["Statements"]
    assert not [s for s in statements if marker in s.get("QueryString", "")]


@pytest.mark.parametrize("origin", [HOSTILE_ORIGIN, "null", "http://127.0.0.1:1", "http://localhost:8080"])
def test_preflights_are_refused_without_cors_headers(local_cloud, origin):
    reply = send(local_cloud.endpoint_url, "OPTIONS", "/some-bucket/some-key",
                 headers={"Origin": origin, "Access-Control-Request-Method": "PUT",
                          "Access-Control-Request-Headers": "authorization,x-amz-date"})
    assert reply.status == 403 and not _has_cors(reply)


def test_no_cors_headers_on_ordinary_answers(local_cloud, aws):
    """moto answers every request with flask-cors' Access-Control-Allow-Origin; the local cloud strips it."""
    aws("s3").create_bucket(Bucket="security-cors")
    aws("s3").put_bucket_cors(Bucket="security-cors", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})  # a bucket rule does not open the cloud either
    headers = signed_headers(local_cloud.endpoint_url, "GET", "/security-cors", b"", "s3",
                             {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    reply = send(local_cloud.endpoint_url, "GET", "/security-cors", headers=headers)
    assert reply.status == 200 and not _has_cors(reply)
    hostile = send(local_cloud.endpoint_url, "GET", "/security-cors", headers={**headers, "Origin": HOSTILE_ORIGIN})
    assert hostile.status == 403 and not _has_cors(hostile)


def test_cross_site_requests_without_origin_are_refused(local_cloud):
    """An <img> or link on another site sends no Origin but Sec-Fetch-Site: cross-site."""
    reply = send(local_cloud.endpoint_url, "GET", "/_localcloud/health", headers={"Sec-Fetch-Site": "cross-site"})
    assert reply.status == 403


def test_faults_refuse_any_origin(local_cloud):
    faults.add(local_cloud.endpoint_url, "redshift-data", "SELECT 'refused origin test'", times=1,
               message="must survive a DELETE from a web page")
    try:
        before = faults.list_faults(local_cloud.endpoint_url)  # the session's cloud: other modules' faults too
        reply = send(local_cloud.endpoint_url, "DELETE", faults.PATH, headers={"Origin": "http://localhost:8080"})
        assert reply.status == 403
        assert faults.list_faults(local_cloud.endpoint_url) == before  # nothing deleted; our own client still works
    finally:
        faults.clear(local_cloud.endpoint_url)  # as the other fault tests leave the shared cloud


def test_moto_api_is_not_served(local_cloud):
    reply = send(local_cloud.endpoint_url, "POST", "/moto-api/reset")
    assert reply.status == 404 and "moto-api" in reply.body.decode()


# --- Signatures ------------------------------------------------------------------------------------------------

def test_unsigned_sdk_calls_get_missing_authentication_token(local_cloud, secret):
    unsigned = Config(signature_version=UNSIGNED)
    with pytest.raises(ClientError) as raised:
        boto3.client("secretsmanager", endpoint_url=local_cloud.endpoint_url, region_name="us-east-1",
                     config=unsigned).get_secret_value(SecretId=secret[0])
    assert raised.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as raised:
        boto3.client("s3", endpoint_url=local_cloud.endpoint_url, region_name="us-east-1",
                     config=unsigned).list_buckets()
    assert raised.value.response["Error"]["Code"] == "MissingAuthenticationToken"


@pytest.mark.parametrize("authorization, code", [
    ("", "MissingAuthenticationTokenException"),
    ("Bearer abc", "IncompleteSignatureException"),
    ("AWS4-HMAC-SHA256 Credential=test/x/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00",
     "IncompleteSignatureException"),
    ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, "
     "SignedHeaders=x-amz-date, Signature=" + "0" * 64, "IncompleteSignatureException"),
])
def test_missing_or_malformed_signatures_are_refused(local_cloud, authorization, code):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.ListSecrets",
               "X-Amz-Date": "20260101T000000Z"}
    if authorization:
        headers["Authorization"] = authorization
    reply = send(local_cloud.endpoint_url, "POST", "/", b"{}", headers)
    assert reply.status == 403 and reply.error_code == code


def test_health_needs_no_signature(local_cloud):
    assert process.health(local_cloud.endpoint_url)["status"] == "ok"


# --- what must keep working ------------------------------------------------------------------------------------

def test_boto3_and_presigned_urls_work_unchanged(local_cloud, aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="security-presigned")
    s3.put_object(Bucket="security-presigned", Key="a/b c.txt", Body=b"presigned body")
    for client in (s3, aws("s3", config=Config(signature_version="s3v4"))):
        url = client.generate_presigned_url("get_object", Params={"Bucket": "security-presigned", "Key": "a/b c.txt"})
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read() == b"presigned body"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "security-presigned", "Key": "up.txt"})
    request = urllib.request.Request(put_url, data=b"uploaded", method="PUT", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30):
        pass
    assert s3.get_object(Bucket="security-presigned", Key="up.txt")["Body"].read() == b"uploaded"


def test_provider_hooks_work_unchanged(local_cloud, secret):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook

    hook = S3Hook(aws_conn_id=None)
    hook.create_bucket("security-hook")
    hook.load_bytes(b"from the hook", "k.txt", bucket_name="security-hook")
    assert hook.read_key("k.txt", bucket_name="security-hook") == "from the hook"
    assert SecretsManagerHook(aws_conn_id=None).get_secret(secret[0]) == secret[1]


# --- a cloud with extra hosts, an allowed origin and signature verification --------------------------------------

@pytest.fixture(scope="module")
def strict_cloud(tmp_path_factory):
    environment = {HOSTS_ENV: "cloud.test", ORIGINS_ENV: "http://app.test:3000", VERIFY_ENV: "1"}
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        cloud = process.start(ephemeral=True, log_file=tmp_path_factory.mktemp("strict") / "cloud.log")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield cloud
    cloud.stop()


def _client(cloud, service: str, key: str = "test", secret: str = "test", **kwargs):
    return boto3.client(service, endpoint_url=cloud.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, **kwargs)


def test_an_allowed_host_is_served(strict_cloud):
    port = _port(strict_cloud.endpoint_url)
    assert send(strict_cloud.endpoint_url, "GET", "/_localcloud/health", host=f"cloud.test:{port}").status == 200
    assert send(strict_cloud.endpoint_url, "GET", "/_localcloud/health", host=f"other.test:{port}").status == 403
    # ...but the admin routes that change things stay loopback-only
    assert send(strict_cloud.endpoint_url, "GET", faults.PATH, host=f"cloud.test:{port}").status == 403


def test_an_allowed_origin_gets_cors_and_others_do_not(strict_cloud):
    preflight = send(strict_cloud.endpoint_url, "OPTIONS", "/",
                     headers={"Origin": "http://app.test:3000", "Access-Control-Request-Method": "POST",
                              "Access-Control-Request-Headers": "authorization,x-amz-target"})
    assert preflight.status == 200
    assert preflight.headers["access-control-allow-origin"] == "http://app.test:3000"
    assert preflight.headers["access-control-allow-headers"] == "authorization,x-amz-target"
    reply = json_call(strict_cloud.endpoint_url, "secretsmanager", "secretsmanager.ListSecrets", {},
                      extra={"Origin": "http://app.test:3000"})
    assert reply.status == 200 and reply.headers["access-control-allow-origin"] == "http://app.test:3000"
    other = json_call(strict_cloud.endpoint_url, "secretsmanager", "secretsmanager.ListSecrets", {},
                      extra={"Origin": "http://app.test:3001"})
    assert other.status == 403 and not _has_cors(other)


def test_verified_signatures_accept_the_local_credentials(strict_cloud):
    s3 = _client(strict_cloud, "s3")
    s3.create_bucket(Bucket="strict")
    s3.put_object(Bucket="strict", Key="dir/a b+c.txt", Body=b"x" * 10_000)
    assert s3.get_object(Bucket="strict", Key="dir/a b+c.txt")["Body"].read() == b"x" * 10_000
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="strict", Prefix="dir/")["Contents"]] == ["dir/a b+c.txt"]
    _client(strict_cloud, "secretsmanager").create_secret(Name="strict/s", SecretString="v")
    assert _client(strict_cloud, "glue").get_databases()["DatabaseList"] == []
    rs = _client(strict_cloud, "redshift-data")
    assert rs.execute_statement(Sql="SELECT 1", Database="dev", WorkgroupName="local-wg")["Id"]
    for config in (None, Config(signature_version="s3v4")):
        url = _client(strict_cloud, "s3", config=config).generate_presigned_url(
            "get_object", Params={"Bucket": "strict", "Key": "dir/a b+c.txt"})
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read() == b"x" * 10_000
        tampered = url.replace("a%20b", "a%20B")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(tampered, timeout=30)
        assert refused.value.code == 403 and b"SignatureDoesNotMatch" in refused.value.read()


def test_verified_signatures_accept_keys_the_cloud_issued(strict_cloud):
    sts = _client(strict_cloud, "sts")
    role = _client(strict_cloud, "iam").create_role(RoleName="strict-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    creds = sts.assume_role(RoleArn=role, RoleSessionName="strict-session")["Credentials"]
    assumed = boto3.client("s3", endpoint_url=strict_cloud.endpoint_url, region_name="us-east-1",
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
    assert "Buckets" in assumed.list_buckets()


@pytest.mark.parametrize("key, secret_key, code", [
    ("test", "wrong", "InvalidSignatureException"), ("AKIDUNKNOWN", "test", "UnrecognizedClientException")])
def test_verified_signatures_refuse_wrong_credentials(strict_cloud, key, secret_key, code):
    with pytest.raises(ClientError) as raised:
        _client(strict_cloud, "secretsmanager", key, secret_key).list_secrets()
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as raised:
        _client(strict_cloud, "s3", key, secret_key).list_buckets()
    assert raised.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "InvalidClientTokenId")


# --- units -----------------------------------------------------------------------------------------------------

def test_expired_presigned_urls_are_refused():
    environ = {"REQUEST_METHOD": "GET", "HTTP_HOST": "127.0.0.1:4566", "PATH_INFO": "/b/k",
               "QUERY_STRING": "AWSAccessKeyId=test&Signature=x&Expires=1000"}
    signature = sigv4.parse(environ)
    with pytest.raises(sigv4.SignatureProblem, match="expired"):
        sigv4.verify(environ, b"", signature, lambda key, token: "test", now=1001)


@pytest.mark.parametrize("host, expected", [("localhost:4566", ("localhost", 4566)), ("[::1]:80", ("[::1]", 80)),
                                            ("[::1]", ("[::1]", 80)), ("Example.COM", ("example.com", 80))])
def test_split_host(host, expected):
    assert split_host(host) == expected


@pytest.mark.parametrize("option, value", [("allowed_hosts", ["http://evil.example"]),
                                           ("allowed_hosts", ["a/b"]),
                                           ("allowed_origins", ["http://app.test/path"]),
                                           ("allowed_origins", ["app.test"])])
def test_bad_policy_entries_are_one_line_errors(option, value):
    with pytest.raises(PolicyError) as raised:
        HttpPolicy.configure("127.0.0.1", 4566, environ={}, **{option: value})
    assert "\n" not in str(raised.value) and value[0] in str(raised.value)


def test_policy_adds_environment_and_options():
    policy = HttpPolicy.configure("0.0.0.0", 4566, ["b.test:99"], ["http://x.test/"],
                                  environ={HOSTS_ENV: "a.test, ", ORIGINS_ENV: "https://y.test"})
    assert {("a.test", 4566), ("b.test", 99), ("localhost", 4566)} <= policy.allowed_hosts()
    assert ("0.0.0.0", 4566) not in policy.allowed_hosts()
    assert policy.origin_allowed("http://x.test") and policy.origin_allowed("https://y.test")
    assert not policy.verify_signatures


def test_compose_allows_the_cloud_service_name():
    """Other compose services reach the cloud by its service name; its Host must be allowed there."""
    import yaml

    from mwaa_local import paths

    compose = yaml.safe_load((paths.ROOT / "docker-compose.yaml").read_text())
    clouds = {name: service for name, service in compose["services"].items()
              if "mwaa-local cloud" in " ".join(service.get("command", []))}
    assert clouds, "docker-compose.yaml runs no local cloud"
    for name, service in clouds.items():
        words = shlex.split(" ".join(service.get("command", [])))  # `sh -c "... --allowed-host X"` or an argv
        flags = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--allowed-host"]
        policy = HttpPolicy.configure("0.0.0.0", 4566, allowed_hosts=flags, environ=service.get("environment", {}))
        assert (name, 4566) in policy.allowed_hosts(), f"compose service {name} would refuse its own name as Host"


@pytest.mark.parametrize("option", [["--allowed-host", "http://x"], ["--allowed-origin", "app.test"]])
def test_the_cli_refuses_a_bad_entry_in_one_line(option):
    import subprocess
    import sys

    from mwaa_local import paths

    result = subprocess.run([sys.executable, "-m", "mwaa_local", "cloud", "--ephemeral", "--port",
                             str(process.free_port()), *option], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(paths.ROOT)})
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error:") and "\n" not in result.stderr.strip()
    assert option[1] in result.stderr and "ready" not in result.stdout
