"""Airflow's own RedshiftDataOperator against the local cloud: waiting, results, and deferral to the triggerer."""

from __future__ import annotations

import asyncio

import pytest
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.providers.common.compat.sdk import AirflowException
from airflow.sdk.exceptions import TaskDeferred


class _TaskInstance:
    dag_id, task_id, run_id, map_index, try_number = "redshift_dag", "sql", "manual__1", -1, 1

    def __init__(self):
        self.xcom, self.stats_tags = {}, {}

    def xcom_push(self, key, value):
        self.xcom[key] = value


def _operator(rs, sql, **kwargs) -> RedshiftDataOperator:
    return RedshiftDataOperator(task_id="sql", sql=sql, database=rs.database, workgroup_name="local-wg",
                                aws_conn_id=None, region_name="us-east-1", poll_interval=0.05, **kwargs)


def _drive_trigger(operator, context, deferred: TaskDeferred):
    """What the triggerer does: run the trigger's async generator to its event, then resume the task."""
    async def first_event():
        async for event in deferred.trigger.run():
            return event
    event = asyncio.run(first_event())
    return getattr(operator, deferred.method_name)(context, event.payload)


def test_wait_for_completion_returns_statement_ids(rs):
    rs.run("CREATE TABLE op_target (x INT)")
    ids = _operator(rs, "INSERT INTO op_target VALUES (1), (2)", wait_for_completion=True).execute({"ti": _TaskInstance()})
    assert len(ids) == 1 and rs.client.describe_statement(Id=ids[0])["Status"] == "FINISHED"
    assert rs.scalar("SELECT count(*) FROM op_target") == 2


def test_return_sql_result_with_a_list_of_statements(rs):
    results = _operator(rs, ["CREATE TABLE op_list (x INT)", "INSERT INTO op_list VALUES (5)",
                             "SELECT x * 2 AS doubled FROM op_list"], return_sql_result=False).execute(
        {"ti": _TaskInstance()})
    assert len(results) == 3  # a batch: one id per sub-statement
    results = _operator(rs, "SELECT x * 2 AS doubled FROM op_list", return_sql_result=True).execute(
        {"ti": _TaskInstance()})
    assert results[0]["Records"] == [[{"longValue": 10}]]
    assert results[0]["ColumnMetadata"][0]["name"] == "doubled"


def test_failure_raises_with_the_redshift_error(rs):
    with pytest.raises(Exception, match='relation "not_there" does not exist'):
        _operator(rs, "SELECT * FROM not_there").execute({"ti": _TaskInstance()})


# Keeps the database busy far longer than any test waits: the operator's statement queues behind it, so the
# operator must defer however slow the machine is; the test then cancels the blocker to let it run.
BLOCKER = "SELECT sum(i * i % 7) FROM range(300000000000) t(i)"


def test_deferrable_completes_through_the_trigger(rs):
    rs.run("CREATE TABLE op_deferred AS SELECT i FROM range(10) t(i)")
    blocker = rs.submit(BLOCKER)
    operator = _operator(rs, "SELECT count(*) AS n FROM op_deferred", deferrable=True, return_sql_result=True)
    context = {"ti": _TaskInstance()}
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    rs.client.cancel_statement(Id=blocker)
    results = _drive_trigger(operator, context, deferred.value)
    assert results[0]["Records"] == [[{"longValue": 10}]]
    assert rs.wait(blocker)["Status"] == "ABORTED"


def test_deferrable_failure_is_reported_by_the_trigger(rs):
    blocker = rs.submit(BLOCKER)
    operator = _operator(rs, "SELECT missing_column FROM range(3)", deferrable=True)
    context = {"ti": _TaskInstance()}
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    rs.client.cancel_statement(Id=blocker)
    with pytest.raises(AirflowException, match='column "missing_column" does not exist'):
        _drive_trigger(operator, context, deferred.value)
