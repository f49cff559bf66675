"""Fault injection through the session's local cloud: one real statement failing inside its batch (then
succeeding), and the HTTP client's refusals. The registry and route without a server: tests/unit/test_fault_registry.py."""

from __future__ import annotations

import time

import pytest

from mwaa_local.cloud import faults

pytestmark = pytest.mark.e2e


def _wait(client, statement_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        time.sleep(0.05)
    raise AssertionError(f"statement {statement_id} did not end in {timeout} s")


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
