"""Small synchronous Redshift Data API reads for the ML tasks (a few rows each; the heavy work is UNLOAD)."""

from __future__ import annotations

import time


class RedshiftQueryError(RuntimeError):
    pass


def query_rows(client, sql: str, workgroup: str, database: str, timeout_s: float = 600) -> list[tuple]:
    statement = client.execute_statement(Sql=sql, WorkgroupName=workgroup, Database=database)["Id"]
    deadline, delay = time.monotonic() + timeout_s, 0.1
    while True:
        described = client.describe_statement(Id=statement)
        if described["Status"] == "FINISHED":
            break
        if described["Status"] in ("FAILED", "ABORTED"):
            raise RedshiftQueryError(f"{described.get('Error', described['Status'])} (query: {sql[:200]})")
        if time.monotonic() > deadline:
            raise RedshiftQueryError(f"query still {described['Status']} after {timeout_s} s: {sql[:200]}")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    if not described.get("HasResultSet"):
        return []
    rows, token = [], None
    while True:
        page = client.get_statement_result(Id=statement, **({"NextToken": token} if token else {}))
        rows += [tuple(next(iter(cell.values())) if not cell.get("isNull") else None for cell in record)
                 for record in page["Records"]]
        token = page.get("NextToken")
        if not token:
            return rows
