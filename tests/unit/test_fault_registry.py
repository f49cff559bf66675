"""Fault injection of the local cloud (mwaa_local/cloud/faults.py) without a server: matching and counting, spec
validation, and the HTTP route served in-process. The same faults through a running cloud: tests/e2e/test_faults.py."""

from __future__ import annotations

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
