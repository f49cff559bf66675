"""Redshift Serverless control plane: namespaces and workgroups through boto3, with AWS's shapes and errors, and
a created workgroup serving the Data API at once."""

from __future__ import annotations

import signal
import uuid

import pytest
from botocore.exceptions import ClientError

from mwaa_local.cloud import process
from tests.cloud.redshift_data.conftest import Redshift, assert_shape


def _shape(operation: str, response: dict) -> None:
    assert_shape(operation, response, service="redshift-serverless")


def _error(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


@pytest.fixture
def serverless(aws):
    return aws("redshift-serverless")


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:8]
    return f"ns-{suffix}", f"wg-{suffix}"


def test_create_get_list_delete_with_model_shapes(serverless, names):
    namespace, workgroup = names
    created = serverless.create_namespace(namespaceName=namespace, dbName="analytics", adminUsername="etl",
                                          iamRoles=["arn:aws:iam::123456789012:role/redshift"])
    _shape("CreateNamespace", created)
    assert created["namespace"]["namespaceName"] == namespace and created["namespace"]["status"] == "AVAILABLE"
    assert created["namespace"]["dbName"] == "analytics" and created["namespace"]["adminUsername"] == "etl"
    _shape("GetNamespace", serverless.get_namespace(namespaceName=namespace))

    made = serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace, baseCapacity=8)
    _shape("CreateWorkgroup", made)
    assert made["workgroup"]["status"] == "AVAILABLE" and made["workgroup"]["baseCapacity"] == 8
    assert made["workgroup"]["namespaceName"] == namespace and made["workgroup"]["endpoint"]["port"] == 5439
    fetched = serverless.get_workgroup(workgroupName=workgroup)
    _shape("GetWorkgroup", fetched)
    assert fetched["workgroup"]["workgroupArn"] == made["workgroup"]["workgroupArn"]

    listed = serverless.list_workgroups()
    _shape("ListWorkgroups", listed)
    assert {"local-wg", workgroup} <= {w["workgroupName"] for w in listed["workgroups"]}
    namespaces = serverless.list_namespaces()
    _shape("ListNamespaces", namespaces)
    assert {"local-ns", namespace} <= {n["namespaceName"] for n in namespaces["namespaces"]}

    credentials = serverless.get_credentials(workgroupName=workgroup, durationSeconds=900)
    _shape("GetCredentials", credentials)
    assert credentials["dbUser"] and credentials["dbPassword"]

    _shape("DeleteWorkgroup", serverless.delete_workgroup(workgroupName=workgroup))
    _shape("DeleteNamespace", serverless.delete_namespace(namespaceName=namespace))
    assert _error(serverless.get_workgroup, workgroupName=workgroup)[0] == "ResourceNotFoundException"
    assert _error(serverless.get_namespace, namespaceName=namespace)[0] == "ResourceNotFoundException"


def test_paging(serverless):
    suffix = uuid.uuid4().hex[:6]
    for n in range(3):
        serverless.create_namespace(namespaceName=f"page-{suffix}-{n}")
    seen, token = [], None
    while True:
        page = serverless.list_namespaces(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["namespaces"]) <= 2
        seen += [n["namespaceName"] for n in page["namespaces"]]
        token = page.get("nextToken")
        if not token:
            break
    assert [name for name in seen if name.startswith(f"page-{suffix}")] == [f"page-{suffix}-{n}" for n in range(3)]
    assert len(seen) == len(set(seen))


def test_created_workgroup_runs_copy_and_merge(serverless, aws, names):
    namespace, workgroup = names
    serverless.create_namespace(namespaceName=namespace, dbName="analytics")
    serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace)
    bucket = f"wg-{uuid.uuid4().hex[:10]}"
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="in/customers.csv", Body=b"id,name\n1,ann\n2,bob\n3,cy\n")
    rs = Redshift(aws("redshift-data"), database="analytics", workgroup=workgroup)
    rs.run("CREATE TABLE customers (id INT, name VARCHAR(20))")
    rs.run("INSERT INTO customers VALUES (1, 'old'), (9, 'kept')")
    rs.run("CREATE TABLE stage (id INT, name VARCHAR(20))")
    rs.run(f"COPY stage FROM 's3://{bucket}/in/' IAM_ROLE default FORMAT AS CSV IGNOREHEADER 1")
    rs.run("MERGE INTO customers USING stage ON customers.id = stage.id "
           "WHEN MATCHED THEN UPDATE SET name = stage.name WHEN NOT MATCHED THEN INSERT VALUES (stage.id, stage.name)")
    assert rs.query("SELECT id, name FROM customers ORDER BY id") == [[1, "ann"], [2, "bob"], [3, "cy"], [9, "kept"]]
    # The namespace's data is its own: the built-in workgroup's dev database has no such table.
    error = Redshift(aws("redshift-data")).fail("SELECT * FROM customers WHERE id = 9 AND name = 'kept'")
    assert "customers" in error


def test_errors_as_aws_gives_them(serverless, aws, names):
    namespace, workgroup = names
    serverless.create_namespace(namespaceName=namespace)
    code, message = _error(serverless.create_namespace, namespaceName=namespace)
    assert code == "ConflictException" and namespace in message
    code, _ = _error(serverless.create_workgroup, workgroupName=workgroup, namespaceName="no-such-ns")
    assert code == "ResourceNotFoundException"
    serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace)
    code, message = _error(serverless.create_workgroup, workgroupName=f"{workgroup}-2", namespaceName=namespace)
    assert code == "ConflictException" and workgroup in message
    code, message = _error(serverless.delete_namespace, namespaceName=namespace)
    assert code == "ConflictException" and "delete the workgroup first" in message
    for bad in ("A_Bc", "has space", "dot.ted"):  # botocore itself refuses lengths outside 3-64
        code, message = _error(serverless.create_namespace, namespaceName=bad)
        assert code == "ValidationException" and "lowercase letters" in message
    assert _error(serverless.create_namespace, namespaceName=f"{namespace}-db", dbName="1bad")[0] == \
        "ValidationException"
    assert _error(serverless.create_workgroup, workgroupName=f"{workgroup}-c", namespaceName=namespace,
                  baseCapacity=7)[0] == "ValidationException"
    assert _error(serverless.delete_workgroup, workgroupName="local-wg")[0] == "ValidationException"
    assert _error(serverless.get_credentials, workgroupName="nope")[0] == "ResourceNotFoundException"

    serverless.delete_workgroup(workgroupName=workgroup)
    data = aws("redshift-data")
    code, message = _error(data.execute_statement, Sql="SELECT 1", Database="dev", WorkgroupName=workgroup)
    assert code == "ValidationException" and f"Workgroup {workgroup} not found" in message


def test_namespaces_workgroups_and_data_survive_sigkill(tmp_path):
    cloud = process.start(state_dir=tmp_path)
    try:
        clients = process.clients(cloud.endpoint_url)
        clients("redshift-serverless").create_namespace(namespaceName="durable", dbName="sales")
        clients("redshift-serverless").create_workgroup(workgroupName="durable-wg", namespaceName="durable")
        Redshift(clients("redshift-data"), database="sales", workgroup="durable-wg").run(
            "CREATE TABLE t AS SELECT 42 AS answer")
    finally:
        cloud.stop(signal.SIGKILL)
    cloud = process.start(state_dir=tmp_path)
    try:
        clients = process.clients(cloud.endpoint_url)
        got = clients("redshift-serverless").get_workgroup(workgroupName="durable-wg")["workgroup"]
        assert got["namespaceName"] == "durable"
        rs = Redshift(clients("redshift-data"), database="sales", workgroup="durable-wg")
        assert rs.query("SELECT answer FROM t") == [[42]]
    finally:
        cloud.stop()
