"""Run one SQL statement through the Redshift Data API and wait for its rows (for reports, tests and `sql`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


class StatementFailed(RuntimeError):
    def __init__(self, status: str, error: str, sql: str):
        super().__init__(f"{status}: {error} (SQL: {sql})")
        self.status, self.error = status, error


@dataclass
class Result:
    columns: list[dict] = field(default_factory=list)  # the Data API's ColumnMetadata (name, typeName, ...)
    rows: list[list[Any]] = field(default_factory=list)  # typed values: int, float, bool, str, None
    rows_affected: int | None = None  # DescribeStatement's ResultRows (-1 when not applicable)


def _value(field: dict) -> Any:
    if field.get("isNull"):
        return None
    return next(iter(field.values()))


def execute(client: Any, sql: str, workgroup: str, database: str, timeout: float = 120) -> Result:
    """Runs `sql`, waits for it, and fetches every page of its result."""
    statement_id = client.execute_statement(Sql=sql, WorkgroupName=workgroup, Database=database)["Id"]
    deadline = time.monotonic() + timeout
    while True:
        described = client.describe_statement(Id=statement_id)
        if described["Status"] == "FINISHED":
            break
        if described["Status"] in ("FAILED", "ABORTED"):
            raise StatementFailed(described["Status"], described.get("Error") or "", sql)
        if time.monotonic() > deadline:
            raise TimeoutError(f"statement {statement_id} still {described['Status']} after {timeout:.0f} s: {sql}")
        time.sleep(0.05)
    result = Result(rows_affected=described.get("ResultRows"))
    if not described.get("HasResultSet"):
        return result
    token = None
    while True:
        page = client.get_statement_result(Id=statement_id, **({"NextToken": token} if token else {}))
        result.columns = page["ColumnMetadata"]
        result.rows += [[_value(f) for f in record] for record in page["Records"]]
        token = page.get("NextToken")
        if not token:
            return result


def query(client: Any, sql: str, workgroup: str, database: str, timeout: float = 120) -> list[dict]:
    """The rows of `sql` as dicts keyed by column name."""
    result = execute(client, sql, workgroup, database, timeout)
    names = [column["name"] for column in result.columns]
    return [dict(zip(names, row, strict=True)) for row in result.rows]
