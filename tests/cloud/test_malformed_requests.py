"""Malformed requests get the AWS-shaped 4xx AWS gives, for moto's services as for ours, and an internal error is an
AWS-shaped 500 that keeps Python's internals in the log (never an HTML page with a traceback)."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.http_policy import HttpPolicy
from mwaa_local.cloud.server import LocalCloud
from mwaa_local.cloud.service import JsonService
from mwaa_local.cloud.state import StateStore
from tests.cloud.raw_http import json_call, signed_headers

CASES = [  # (body, X-Amz-Target operation, expected code)
    (b"not json", "{list}", "SerializationException"),
    (b"[1, 2]", "{list}", "SerializationException"),
    (b"[" * 100_000, "{list}", "SerializationException"),
    (b"{}", "NoSuchOperation", "UnknownOperationException"),
    (b"{}", "", "UnknownOperationException"),
    (b'{"MaxResults": "ten"}', "{list}", "SerializationException"),
    (b"{}", "{get}", "ValidationException"),  # a required member is missing
]
SERVICES = {  # signing name: (target prefix, a list operation, an operation with a required member)
    "secretsmanager": ("secretsmanager", "ListSecrets", "GetSecretValue"),  # moto's
    "glue": ("AWSGlue", "GetCrawlers", "GetCrawler"),  # ours (GetDatabases etc. are moto's)
    "redshift-data": ("RedshiftData", "ListStatements", "DescribeStatement"),  # ours
}


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize("body, operation, code", CASES)
def test_malformed_json_requests_get_aws_400s(local_cloud, service, body, operation, code):
    prefix, list_op, get_op = SERVICES[service]
    target = f"{prefix}.{operation.format(list=list_op, get=get_op)}"
    reply = json_call(local_cloud.endpoint_url, service, target, body)
    assert reply.status == 400, reply.body[:300]
    assert reply.headers["content-type"].startswith("application/x-amz-json")
    assert reply.error_code == code and reply.headers["x-amzn-errortype"] == code
    assert b"Traceback" not in reply.body and b"<html" not in reply.body.lower()


def test_members_the_model_lacks_are_left_to_the_service(local_cloud):
    """A client with a newer botocore may send members this model lacks: moto ignores them, ours refuse them."""
    moto = json_call(local_cloud.endpoint_url, "secretsmanager", "secretsmanager.ListSecrets", {"NewMember": 1})
    assert moto.status == 200 and "SecretList" in moto.json()
    ours = json_call(local_cloud.endpoint_url, "glue", "AWSGlue.GetCrawlers", {"NewMember": 1})
    assert ours.status == 400 and ours.error_code == "ValidationException" and "NewMember" in ours.json()["message"]


def test_an_operation_moto_lacks_is_a_501_not_a_traceback(local_cloud):
    reply = json_call(local_cloud.endpoint_url, "secretsmanager", "secretsmanager.ValidateResourcePolicy",
                      {"ResourcePolicy": "{}"})
    assert reply.status == 501 and reply.error_code == "NotImplemented"
    assert b"Traceback" not in reply.body


class _Broken(JsonService):
    signing_name, target_prefix = "redshift-data", "RedshiftData"

    def __init__(self, context):
        self.context = context

    def list_statements(self, **_ignored):
        raise RuntimeError("internal detail /secret/path")


def test_an_internal_error_is_an_aws_shaped_500_without_internals():
    context = CloudContext(store=StateStore(None), endpoint_url="http://127.0.0.1:4566")
    app = LocalCloud(context, [_Broken(context)], HttpPolicy.configure("127.0.0.1", 4566, environ={}))
    body = b"{}"
    headers = signed_headers("http://127.0.0.1:4566", "POST", "/", body, "redshift-data",
                             {"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "RedshiftData.ListStatements"})
    response = Client(app).post("/", base_url="http://127.0.0.1:4566", data=body, headers=headers)
    assert response.status_code == 500
    assert json.loads(response.data)["__type"] == "InternalFailure"
    assert b"secret" not in response.data and b"Traceback" not in response.data
