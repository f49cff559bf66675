"""Helpers for the Redshift Data API tests: run SQL through boto3 against the session's local cloud."""

from __future__ import annotations

import time
import uuid

import botocore.session
import pytest

TERMINAL = ("FINISHED", "FAILED", "ABORTED")


def assert_shape(operation: str, response: dict, service: str = "redshift-data") -> None:
    """Every member of the response is one botocore's model declares, with the declared type, recursively."""
    model = botocore.session.get_session().get_service_model(service)
    _check(model.operation_model(operation).output_shape, {k: v for k, v in response.items()
                                                            if k != "ResponseMetadata"}, operation)


def _check(shape, value, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected a structure, got {value!r}"
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: members not in the model: {unknown}"
        missing = set(shape.required_members) - set(value)
        assert not missing, f"{path}: required members missing: {missing}"
        if getattr(shape, "is_tagged_union", False) or shape.metadata.get("union"):
            assert len(value) == 1, f"{path}: a union must set exactly one member: {value}"
        for key, item in value.items():
            _check(shape.members[key], item, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected a list"
        for n, item in enumerate(value):
            _check(shape.member, item, f"{path}[{n}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: expected an integer, got {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
    elif kind == "double":
        assert isinstance(value, (int, float)), f"{path}: expected a number"
    elif kind == "timestamp":
        assert hasattr(value, "timestamp"), f"{path}: expected a timestamp, got {value!r}"
    elif kind == "blob":
        assert isinstance(value, bytes), f"{path}: expected bytes"


class Redshift:
    """A Data API session on one database of the default serverless workgroup."""

    def __init__(self, client, database: str = "dev", workgroup: str | None = "local-wg", cluster: str | None = None):
        self.client, self.database = client, database
        self.target = {"WorkgroupName": workgroup} if workgroup else {"ClusterIdentifier": cluster}

    def submit(self, sql: str, **kwargs) -> str:
        return self.client.execute_statement(Sql=sql, Database=self.database, **self.target, **kwargs)["Id"]

    def wait(self, statement_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            described = self.client.describe_statement(Id=statement_id)
            if described["Status"] in TERMINAL:
                return described
            assert time.monotonic() < deadline, f"statement still {described['Status']} after {timeout} s"
            time.sleep(0.02)

    def run(self, sql: str, **kwargs) -> dict:
        described = self.wait(self.submit(sql, **kwargs))
        assert described["Status"] == "FINISHED", f"{sql!r} -> {described.get('Error')}"
        return described

    def fail(self, sql: str, **kwargs) -> str:
        described = self.wait(self.submit(sql, **kwargs))
        assert described["Status"] == "FAILED", f"{sql!r} should fail but is {described['Status']}"
        return described["Error"]

    def batch(self, sqls: list[str]) -> dict:
        statement_id = self.client.batch_execute_statement(Sqls=sqls, Database=self.database, **self.target)["Id"]
        return self.wait(statement_id)

    def records(self, statement_id: str) -> list[list]:
        """Every row of a result, following NextToken, as plain Python values."""
        rows, token = [], None
        while True:
            page = self.client.get_statement_result(Id=statement_id, **({"NextToken": token} if token else {}))
            rows += [[None if f.get("isNull") else next(iter(f.values())) for f in record] for record in page["Records"]]
            token = page.get("NextToken")
            if not token:
                return rows

    def query(self, sql: str, **kwargs) -> list[list]:
        return self.records(self.run(sql, **kwargs)["Id"])

    def scalar(self, sql: str):
        return self.query(sql)[0][0]


@pytest.fixture
def redshift_client(aws):
    return aws("redshift-data")


@pytest.fixture
def rs(redshift_client):
    """A fresh database per test, so tests never see each other's tables."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    Redshift(redshift_client).run(f"CREATE DATABASE {name}")
    return Redshift(redshift_client, database=name)


@pytest.fixture
def bucket(aws):
    name = f"rs-{uuid.uuid4().hex[:12]}"
    aws("s3").create_bucket(Bucket=name)
    return name
