"""Run one SQL statement through the Redshift Data API and wait for its rows (for reports and tests)."""

from __future__ import annotations

import time
from typing import Any


class StatementFailed(RuntimeError):
    pass


def _value(field: dict) -> Any:
    if field.get("isNull"):
        return None
    return next(iter(field.values()))


def query(client: Any, sql: str, workgroup: str, database: str, timeout: float = 120) -> list[dict]:
    statement_id = client.execute_statement(Sql=sql, WorkgroupName=workgroup, Database=database)["Id"]
    deadline = time.monotonic() + timeout
    while True:
        described = client.describe_statement(Id=statement_id)
        if described["Status"] == "FINISHED":
            break
        if described["Status"] in ("FAILED", "ABORTED"):
            raise StatementFailed(f"{described['Status']}: {described.get('Error')} (SQL: {sql})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"statement {statement_id} still {described['Status']} after {timeout:.0f} s: {sql}")
        time.sleep(0.05)
    if not described.get("HasResultSet"):
        return []
    rows, token = [], None
    while True:
        page = client.get_statement_result(Id=statement_id, **({"NextToken": token} if token else {}))
        names = [column["name"] for column in page["ColumnMetadata"]]
        rows += [dict(zip(names, map(_value, record), strict=True)) for record in page["Records"]]
        token = page.get("NextToken")
        if not token:
            return rows
