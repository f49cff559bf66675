"""Fault injection of the local cloud (mwaa_local/cloud/faults.py): matching and counting without a server, the
HTTP route in-process, and one real statement failing (then succeeding) through the session's cloud."""

from __future__ import annotations

import time

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request

from mwaa_local.cloud import faults

MERGE = "MERGE INTO analytics.fact_orders USING staging.stg_orders s ON analytics.fact_orders.order_id = s.order_id"


def _registry(**spec) -> tuple[faults.FaultRegistry, faults.Fault]:
    registry = faults.FaultRegistry()
    return registry, registry.add({"service": "redshift-data", "sql_contains": "MERGE INTO analytics.fact_orders",
                                   **spec})


def test_a_fault_fires_on_a_matching_statement_only_as_often_as_asked():
    registry, fault = _registry(times=2)
    assert registry.fire("redshift-data", "COPY staging.stg_orders FROM 's3://b/k/'") is None
    assert registry.fire("redshift-data", "MERGE INTO analytics.fact_order_items USING x") is None
    assert registry.fire("glue", MERGE) is None  # another service never matches
    assert registry.fire("redshift-data", MERGE) is fault
    assert registry.fire("redshift-data", MERGE) is fault
    assert registry.fire("redshift-data", MERGE) is None  # spent
    assert (fault.fired, fault.remaining) == (2, 0)


def test_matching_ignores_case_and_whitespace():
    registry, fault = _registry()
    assert registry.fire("redshift-data", "merge   into\n  ANALYTICS.fact_orders using s on true") is fault


def test_the_first_armed_fault_wins_then_the_next():
    registry, first = _registry(message="first")
    second = registry.add({"service": "redshift-data", "sql_contains": "MERGE", "message": "second"})
    assert registry.fire("redshift-data", MERGE) is first
    assert registry.fire("redshift-data", MERGE) is second
    assert registry.fire("redshift-data", MERGE) is None
    assert "second" in second.error_message() and second.id in second.error_message()


def test_clear_disarms_everything():
    registry, _ = _registry(times=5)
    assert registry.clear() == 1
    assert registry.fire("redshift-data", MERGE) is None and registry.list() == []


@pytest.mark.parametrize(("spec", "message"), [
    ({"service": "s3", "sql_contains": "x"}, "service must be one of"),
    ({"service": "redshift-data"}, "sql_contains"),
    ({"service": "redshift-data", "sql_contains": "  "}, "sql_contains"),
    ({"service": "redshift-data", "sql_contains": "x", "times": 0}, "times"),
    ({"service": "redshift-data", "sql_contains": "x", "times": True}, "times"),
    ({"service": "redshift-data", "sql_contains": "x", "sql": "typo"}, "unknown fault field"),
    (["not", "an", "object"], "JSON object"),
])
def test_bad_fault_specs_are_refused_clearly(spec, message):
    with pytest.raises(faults.FaultError, match=message):
        faults.FaultRegistry().add(spec)


def test_http_route_adds_lists_and_clears():
    registry = faults.FaultRegistry()
    client = Client(lambda environ, start: faults.handle(Request(environ), registry)(environ, start))
    added = client.post(faults.PATH, json={"service": "redshift-data", "sql_contains": "MERGE", "times": 3})
    assert added.status_code == 201 and added.json["remaining"] == 3
    assert client.post(faults.PATH, data="{nope", content_type="application/json").status_code == 400
    assert client.post(faults.PATH, json={"service": "nope", "sql_contains": "x"}).status_code == 400
    listed = client.get(faults.PATH).json["faults"]
    assert [(f["id"], f["sql_contains"], f["fired"]) for f in listed] == [(added.json["id"], "MERGE", 0)]
    assert client.put(faults.PATH).status_code == 405
    assert client.delete(faults.PATH).json == {"cleared": 1}
    assert client.get(faults.PATH).json == {"faults": []}


def _wait(client, statement_id: str) -> dict:
    for _ in range(600):
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        time.sleep(0.05)
    raise AssertionError(f"statement {statement_id} did not end")


def test_the_cloud_fails_a_matching_statement_once_and_rolls_its_batch_back(local_cloud, aws):
    redshift = aws("redshift-data")
    where = {"WorkgroupName": "local-wg", "Database": "dev"}
    setup = redshift.batch_execute_statement(Sqls=["DROP TABLE IF EXISTS public.fault_probe",
                                                   "CREATE TABLE public.fault_probe (id INT)"], **where)["Id"]
    assert _wait(redshift, setup)["Status"] == "FINISHED"
    faults.clear(local_cloud.endpoint_url)
    fault = faults.add(local_cloud.endpoint_url, "redshift-data", "insert into public.fault_probe values (2)",
                       message="probe fault")
    try:
        sqls = ["INSERT INTO public.fault_probe VALUES (1)", "INSERT INTO public.fault_probe VALUES (2)"]
        failed = _wait(redshift, redshift.batch_execute_statement(Sqls=sqls, **where)["Id"])
        assert failed["Status"] == "FAILED" and "probe fault" in failed["Error"] and fault["id"] in failed["Error"]
        assert [s["Status"] for s in failed["SubStatements"]] == ["FINISHED", "FAILED"]
        count = redshift.execute_statement(Sql="SELECT count(*) FROM public.fault_probe", **where)["Id"]
        _wait(redshift, count)
        assert redshift.get_statement_result(Id=count)["Records"] == [[{"longValue": 0}]], "the batch was not rolled back"

        again = _wait(redshift, redshift.batch_execute_statement(Sqls=sqls, **where)["Id"])
        assert again["Status"] == "FINISHED", again  # one-shot: the same batch now runs
        listed = {f["id"]: f for f in faults.list_faults(local_cloud.endpoint_url)}
        assert (listed[fault["id"]]["fired"], listed[fault["id"]]["remaining"]) == (1, 0)
    finally:
        faults.clear(local_cloud.endpoint_url)
        redshift.execute_statement(Sql="DROP TABLE IF EXISTS public.fault_probe", **where)


def test_the_http_client_reports_refusals(local_cloud):
    before = faults.list_faults(local_cloud.endpoint_url)
    with pytest.raises(faults.FaultError, match="HTTP 400.*times"):
        faults.add(local_cloud.endpoint_url, "redshift-data", "MERGE", times=0)
    assert faults.list_faults(local_cloud.endpoint_url) == before  # nothing armed
