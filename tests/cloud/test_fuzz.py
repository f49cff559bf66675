"""A bounded, seeded fuzz over every operation our own services implement (their route tables:
JsonService.operations()): inputs built from botocore's model, then broken (missing required members, wrong JSON
types, nulls, unknown members, bodies that are not JSON objects). No answer may be a 5xx, every refusal is an
AWS-shaped JSON error, and afterwards the cloud still serves: health is OK and real calls still work."""

from __future__ import annotations

import importlib
import json
import random
import time
import uuid

import botocore.session
import pytest

from mwaa_local.cloud import process, services
from tests.cloud.raw_http import json_call

SEED = 20261126
CASES_PER_OPERATION = 16
LOOP_BUDGET_S = 300  # bounds the run on a slow machine; every operation is visited before any gets a second case
MUTATIONS = ("anchored", "anchored", "valid", "valid", "drop_required", "wrong_type", "wrong_type", "null", "unknown_member", "raw_body")
RAW_BODIES = (b"not json", b"[]", b"null", b"1", b'"text"', b"{", b'{"a":', b"\xff\xfe", b"[" * 5000 + b"]" * 5000,
              b'{"a": ' * 3000 + b"1" + b"}" * 3000)
WRONG_VALUES = ([], {}, 0, -1, 2**63, 1.5, True, "text", [{"nested": [None]}], {"k": {"k": []}})


def _service_classes():
    """Our JSON-protocol services (path-routed REST ones, such as sagemaker-runtime, take raw bodies)."""
    from mwaa_local.cloud.service import JsonService

    for spec in services.SERVICES:
        module_name, _, class_name = spec.partition(":")
        service = getattr(importlib.import_module(module_name), class_name)
        if issubclass(service, JsonService):
            yield service


def _route_table() -> list[tuple[str, str, str, object]]:
    """(signing name, target prefix, operation, botocore operation model or None) for every operation we serve."""
    session = botocore.session.get_session()
    table = []
    for service in _service_classes():
        if not service.operations():  # path-routed REST services (MWAA) have no X-Amz-Target operations
            continue
        model = session.get_service_model(service.signing_name)
        for operation in service.operations():
            op_model = model.operation_model(operation) if operation in model.operation_names else None
            table.append((service.signing_name, service.target_prefix, operation, op_model))
    return table


ROUTES = _route_table()


class Inputs:
    """Random members for a botocore shape, biased towards names and ids that exist, so calls go deep."""

    def __init__(self, rng: random.Random, pools: dict[str, list[str]]):
        self.rng, self.pools = rng, pools

    def _string(self, member: str, shape) -> str:
        if shape.enum and self.rng.random() < 0.7:
            return self.rng.choice(shape.enum)
        for hint, pool in self.pools.items():
            if hint in member and self.rng.random() < 0.7:
                return self.rng.choice(pool)
        shortest = shape.metadata.get("min", 0)  # the model's minimum, so most "valid" inputs get past validation
        candidates = [s for s in ("", " ", "x", "é✓ \u2028", "a" * 300, "'; DROP TABLE t; --", "../../etc/passwd",
                                  "s3://no-such-bucket/key", "%s %d {0}", uuid.uuid4().hex, "null", "-1")
                      if len(s) >= shortest]
        return self.rng.choice(candidates or ["x" * shortest])

    def _number(self, shape, candidates: list):
        lowest = shape.metadata.get("min")
        fitting = [n for n in candidates if lowest is None or n >= lowest]
        return self.rng.choice(fitting or [lowest])

    def value(self, shape, member: str = "", depth: int = 0):
        kind = shape.type_name
        if kind == "structure":
            if depth > 3:
                return {}
            return {name: self.value(sub, name, depth + 1) for name, sub in shape.members.items()
                    if name in shape.required_members or self.rng.random() < 0.5}
        if kind == "list":
            return [self.value(shape.member, member, depth + 1) for _ in range(self.rng.randint(0, 3 if depth < 3 else 0))]
        if kind == "map":
            return {self._string(member, shape.key): self.value(shape.value, member, depth + 1)
                    for _ in range(self.rng.randint(0, 2))}
        if kind == "string":
            return self._string(member, shape)
        if kind in ("integer", "long"):
            return self._number(shape, [0, 1, -1, 7, 1000, 2**31 - 1, 2**31, -(2**31), 2**62])
        if kind in ("double", "float"):
            return self._number(shape, [0.0, -1.5, 1e300])
        if kind == "boolean":
            return self.rng.choice([True, False])
        if kind == "timestamp":
            return self.rng.choice([0, 1_700_000_000, -1, 4_102_444_800.5])
        if kind == "blob":
            return self.rng.choice(["", "aGVsbG8=", "not base64!"])
        return None


def _paths(params, prefix=()):
    """Every (path) to a member inside nested dicts and lists."""
    if isinstance(params, dict):
        for key, value in params.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(params, list):
        for index, value in enumerate(params):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _set(params, path, value):
    target = params
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _case(rng: random.Random, inputs: Inputs, op_model) -> tuple[str, bytes]:
    mutation = rng.choice(MUTATIONS)
    if mutation == "raw_body":
        return mutation, rng.choice(RAW_BODIES)
    params = inputs.value(op_model.input_shape) if op_model is not None and op_model.input_shape else {}
    if mutation == "anchored":  # what a real caller sends: existing names and ids, one Redshift endpoint
        for member, shape in op_model.input_shape.members.items() if params else ():
            hint = next((h for h in inputs.pools if h in member), None)
            if hint and hint != "Cluster" and shape.type_name == "string":
                params[member] = inputs.pools[hint][0]
        if "WorkgroupName" in params:
            params.pop("ClusterIdentifier", None)
    paths = list(_paths(params))
    if mutation == "drop_required" and op_model is not None and op_model.input_shape is not None:
        required = [m for m in op_model.input_shape.required_members if m in params]
        if required:
            del params[rng.choice(required)]
    elif mutation in ("wrong_type", "null") and paths:
        _set(params, rng.choice(paths), None if mutation == "null" else rng.choice(WRONG_VALUES))
    elif mutation == "unknown_member":
        params[rng.choice(["Unknown", "__proto__", "jobName", ""])] = rng.choice(WRONG_VALUES)
    return mutation, json.dumps(params).encode()


@pytest.fixture(scope="module")
def fuzz_targets(local_cloud):
    """A real job, crawler, table and statement to aim at, so fuzzed calls reach past the not-found checks."""
    aws = process.clients(local_cloud.endpoint_url)
    suffix = uuid.uuid4().hex[:6]
    bucket, job, crawler = f"fuzz-{suffix}", f"fuzz-job-{suffix}", f"fuzz-crawler-{suffix}"
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="job.py", Body=b"print('fuzzed')\n")
    aws("s3").put_object(Bucket=bucket, Key="data/t/part.csv", Body=b"a,b\n1,2\n")
    aws("glue").create_job(Name=job, Role="arn:aws:iam::123456789012:role/glue",
                           Command={"Name": "pythonshell", "ScriptLocation": f"s3://{bucket}/job.py"})
    aws("glue").create_database(DatabaseInput={"Name": f"fuzz_db_{suffix}"})
    aws("glue").create_crawler(Name=crawler, Role="arn:aws:iam::123456789012:role/glue",
                               DatabaseName=f"fuzz_db_{suffix}", Targets={"S3Targets": [{"Path": f"s3://{bucket}/data/"}]})
    rs = aws("redshift-data")
    statement = rs.execute_statement(Sql=f"CREATE TABLE fuzz_{suffix} (a INT)", Database="dev",
                                     WorkgroupName="local-wg")["Id"]
    run = aws("glue").start_job_run(JobName=job)["JobRunId"]
    # Most specific hint first: a member takes the pool of the first hint its name contains.
    return {"Workgroup": ["local-wg"], "Cluster": ["local-cluster"], "Database": ["dev", "nodb"],
            "Schema": ["public"], "Table": [f"fuzz_{suffix}"], "Token": ["garbage", "", "1", "-1"],
            "Sql": ["SELECT 1", f"SELECT * FROM fuzz_{suffix}", "SELEC", ""], "JobName": [job],
            "Crawler": [crawler], "RunId": [run], "Id": [statement], "Name": [job, crawler]}


def test_no_operation_answers_malformed_input_with_a_5xx(local_cloud, fuzz_targets):
    assert {op for _, _, op, _ in ROUTES} >= {"ExecuteStatement", "StartJobRun", "StartCrawler"}  # table is real
    rng = random.Random(SEED)
    inputs = Inputs(rng, fuzz_targets)
    failures, sent, deadline = [], 0, time.monotonic() + LOOP_BUDGET_S
    for round_ in range(CASES_PER_OPERATION):
        if round_ and time.monotonic() > deadline:
            break
        for signing_name, prefix, operation, op_model in ROUTES:
            mutation, body = _case(rng, inputs, op_model)
            reply = json_call(local_cloud.endpoint_url, signing_name, f"{prefix}.{operation}", body)
            sent += 1
            shaped = reply.status < 400 or (reply.headers.get("content-type", "").startswith("application/x-amz-json")
                                            and bool(reply.error_code))
            if reply.status >= 500 or not shaped:
                failures.append(f"{operation} [{mutation}] {body[:200]!r} -> {reply.status} {reply.body[:300]!r}")
    assert sent >= len(ROUTES) * 2
    assert not failures, f"{len(failures)} of {sent} fuzzed calls were not AWS-shaped 4xx/2xx:\n" + "\n".join(failures)


def test_the_cloud_still_serves_after_the_fuzz(local_cloud, fuzz_targets):
    assert process.health(local_cloud.endpoint_url, timeout=10)["status"] == "ok"
    aws = process.clients(local_cloud.endpoint_url)
    rs = aws("redshift-data")
    statement = rs.execute_statement(Sql="SELECT 41 + 1", Database="dev", WorkgroupName="local-wg")["Id"]
    deadline = time.monotonic() + 120
    while rs.describe_statement(Id=statement)["Status"] not in ("FINISHED", "FAILED", "ABORTED"):
        assert time.monotonic() < deadline, "statement never ended"
        time.sleep(0.1)
    assert rs.get_statement_result(Id=statement)["Records"] == [[{"longValue": 42}]]
    job = fuzz_targets["JobName"][0]  # the fuzz may have updated it, never deleted it (no DeleteJob of ours)
    assert fuzz_targets["RunId"][0] in [run["Id"] for run in aws("glue").get_job_runs(JobName=job)["JobRuns"]]
    crawler = f"after-fuzz-{uuid.uuid4().hex[:6]}"  # the fuzzed crawler may be gone (DeleteCrawler is ours)
    aws("glue").create_crawler(Name=crawler, Role="arn:aws:iam::123456789012:role/glue", DatabaseName="default",
                               Targets={"S3Targets": [{"Path": "s3://nowhere/x/"}]})
    assert aws("glue").get_crawler(Name=crawler)["Crawler"]["State"] == "READY"
