"""The Redshift Data API on the wire: boto3's request parameters in, the response shapes botocore expects out."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.redshift_data.exceptions import ValidationException
from mwaa_local.cloud.redshift_data.models import TERMINAL, Part, RedshiftDataBackend, Statement
from mwaa_local.cloud.service import JsonService

STATUSES = ("SUBMITTED", "PICKED", "STARTED", "FINISHED", "FAILED", "ABORTED", "ALL")
HIDDEN_SCHEMAS = ("main", "pg_catalog")


def _page(items: list, next_token: str | None, max_results: int | None, default: int = 1000) -> tuple[list, str | None]:
    """Offset-based NextToken paging shared by the List* and DescribeTable operations."""
    try:
        start = int(next_token) if next_token else 0
    except ValueError:
        raise ValidationException("The NextToken is not valid.") from None
    size = max_results or default
    if size < 0:
        raise ValidationException("MaxResults must be positive.")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _like(pattern: str | None, value: str) -> bool:
    """SQL LIKE (%, _) as SchemaPattern/TablePattern use it; no pattern matches everything."""
    if not pattern:
        return True
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _part_shape(part: Part) -> dict:
    shape = {
        "Id": part.id, "Status": part.status, "QueryString": part.sql, "CreatedAt": part.created_at,
        "UpdatedAt": part.updated_at, "Duration": part.duration_ns, "HasResultSet": part.has_result_set,
        "ResultRows": part.result_rows, "ResultSize": part.result.size if part.result else 0,
        "RedshiftQueryId": part.query_id,
    }
    if part.error:
        shape["Error"] = part.error
    return shape


class RedshiftDataService(JsonService):
    signing_name = "redshift-data"
    target_prefix = "RedshiftData"

    def __init__(self, context: CloudContext):
        self.backend = RedshiftDataBackend(context)

    def close(self) -> None:
        self.backend.close()

    # ---- statements -------------------------------------------------------------------------------------------

    def _submitted(self, statement: Statement) -> dict:
        shape = {"Id": statement.id, "CreatedAt": statement.created_at, "Database": statement.database,
                 "DbGroups": [], "Status": statement.status}
        for key, value in (("ClusterIdentifier", statement.cluster), ("WorkgroupName", statement.workgroup),
                           ("DbUser", statement.db_user), ("SecretArn", statement.secret_arn)):
            if value:
                shape[key] = value
        return shape

    def execute_statement(self, Sql: str, Database: str | None = None, WorkgroupName: str | None = None,
                          ClusterIdentifier: str | None = None, Parameters: list | None = None,
                          SecretArn: str | None = None, DbUser: str | None = None, StatementName: str | None = None,
                          **_ignored: Any) -> dict:
        statement = self.backend.submit([Sql], False, Database, WorkgroupName, ClusterIdentifier, Parameters,
                                        secret_arn=SecretArn, db_user=DbUser, statement_name=StatementName)
        return self._submitted(statement)

    def batch_execute_statement(self, Sqls: list[str], Database: str | None = None, WorkgroupName: str | None = None,
                                ClusterIdentifier: str | None = None, SecretArn: str | None = None,
                                DbUser: str | None = None, StatementName: str | None = None,
                                Parameters: list | None = None, **_ignored: Any) -> dict:
        if not Sqls or len(Sqls) > 40:
            raise ValidationException("Sqls must contain between 1 and 40 statements.")
        statement = self.backend.submit(list(Sqls), True, Database, WorkgroupName, ClusterIdentifier, Parameters,
                                        secret_arn=SecretArn, db_user=DbUser, statement_name=StatementName)
        return self._submitted(statement)

    def describe_statement(self, Id: str, **_ignored: Any) -> dict:
        statement, part = self.backend.get(Id)
        if part is not None:
            return _part_shape(part)
        last = statement.parts[-1]
        shape = {
            "Id": statement.id, "Status": statement.status, "QueryString": statement.query_string,
            "CreatedAt": statement.created_at, "UpdatedAt": statement.updated_at, "Duration": statement.duration_ns,
            "Database": statement.database, "RedshiftPid": statement.pid,
            "HasResultSet": False if statement.is_batch else last.has_result_set,
            "ResultRows": sum(max(p.result_rows, 0) for p in statement.parts) if statement.is_batch and
            statement.status == "FINISHED" else (last.result_rows if not statement.is_batch else -1),
            "ResultSize": sum(p.result.size for p in statement.parts if p.result),
            "RedshiftQueryId": 0 if statement.is_batch else last.query_id,
            **{k: v for k, v in self._submitted(statement).items() if k in
               ("ClusterIdentifier", "WorkgroupName", "DbUser", "SecretArn")},
        }
        if statement.error:
            shape["Error"] = statement.error
        if statement.parameters:
            shape["QueryParameters"] = statement.parameters
        if statement.is_batch:
            shape["SubStatements"] = [_part_shape(p) for p in statement.parts]
        return shape

    def get_statement_result(self, Id: str, NextToken: str | None = None, **_ignored: Any) -> dict:
        statement, part = self.backend.get(Id)
        if part is None:
            if statement.is_batch:
                raise ValidationException("Query does not have result. Please check query status with "
                                          "DescribeStatement; for a batch, pass the sub-statement Id (id:n).")
            part = statement.parts[0]
        if part.status != "FINISHED" or part.result is None:
            if statement.status not in TERMINAL:
                raise ValidationException(f"Query has not finished. Current status is {statement.status}.")
            raise ValidationException("Query does not have result. Please check query status with DescribeStatement.")
        result = part.result
        try:
            page = int(NextToken) if NextToken else 0
        except ValueError:
            raise ValidationException("The NextToken is not valid.") from None
        if not 0 <= page < max(result.page_count, 1):
            raise ValidationException("The NextToken is not valid.")
        response = {"Records": result.page(page) if result.page_count else [],
                    "ColumnMetadata": [c.metadata() for c in result.columns], "TotalNumRows": result.rows}
        if page + 1 < result.page_count:
            response["NextToken"] = str(page + 1)
        return response

    def cancel_statement(self, Id: str) -> dict:
        return {"Status": self.backend.cancel(Id)}

    def list_statements(self, NextToken: str | None = None, MaxResults: int | None = None,
                        StatementName: str | None = None, Status: str | None = None, Database: str | None = None,
                        ClusterIdentifier: str | None = None, WorkgroupName: str | None = None,
                        **_ignored: Any) -> dict:
        if Status and Status not in STATUSES:
            raise ValidationException(f"Status must be one of {', '.join(STATUSES)}.")
        if MaxResults is not None and not 0 <= MaxResults <= 100:
            raise ValidationException("MaxResults must be between 0 and 100.")
        wanted = [
            s for s in self.backend.list_statements()
            if (not Status or Status == "ALL" or s.status == Status)
            and (not StatementName or (s.statement_name or "").startswith(StatementName))
            and (not Database or s.database == Database)
            and (not ClusterIdentifier or s.cluster == ClusterIdentifier)
            and (not WorkgroupName or s.workgroup == WorkgroupName)
        ]
        page, token = _page(wanted, NextToken, MaxResults or 100)
        statements = []
        for s in page:
            shape = {"Id": s.id, "Status": s.status, "CreatedAt": s.created_at, "UpdatedAt": s.updated_at,
                     "IsBatchStatement": s.is_batch, "QueryString": s.query_string}
            if s.is_batch:
                shape["QueryStrings"] = [p.sql for p in s.parts]
            if s.statement_name:
                shape["StatementName"] = s.statement_name
            if s.secret_arn:
                shape["SecretArn"] = s.secret_arn
            if s.parameters:
                shape["QueryParameters"] = s.parameters
            statements.append(shape)
        return {"Statements": statements, **({"NextToken": token} if token else {})}

    # ---- catalog ----------------------------------------------------------------------------------------------

    def _cursor(self, Database, WorkgroupName, ClusterIdentifier, ConnectedDatabase=None):
        return self.backend.database(WorkgroupName, ClusterIdentifier, ConnectedDatabase or Database).cursor()

    def list_databases(self, Database: str, WorkgroupName: str | None = None, ClusterIdentifier: str | None = None,
                       NextToken: str | None = None, MaxResults: int | None = None, **_ignored: Any) -> dict:
        self.backend.database(WorkgroupName, ClusterIdentifier, Database)  # the connected database must exist
        names = self.backend.warehouse.endpoint(WorkgroupName, ClusterIdentifier).names()
        page, token = _page(names, NextToken, MaxResults)
        return {"Databases": page, **({"NextToken": token} if token else {})}

    def list_schemas(self, Database: str, WorkgroupName: str | None = None, ClusterIdentifier: str | None = None,
                     ConnectedDatabase: str | None = None, SchemaPattern: str | None = None,
                     NextToken: str | None = None, MaxResults: int | None = None, **_ignored: Any) -> dict:
        cursor = self._cursor(Database, WorkgroupName, ClusterIdentifier, ConnectedDatabase)
        try:
            rows = cursor.execute("SELECT DISTINCT schema_name FROM duckdb_schemas() WHERE database_name = "
                                  "current_database() ORDER BY 1").fetchall()
        finally:
            cursor.close()
        names = [r[0] for r in rows if r[0] not in HIDDEN_SCHEMAS and _like(SchemaPattern, r[0])]
        page, token = _page(names, NextToken, MaxResults)
        return {"Schemas": page, **({"NextToken": token} if token else {})}

    def list_tables(self, Database: str, WorkgroupName: str | None = None, ClusterIdentifier: str | None = None,
                    ConnectedDatabase: str | None = None, SchemaPattern: str | None = None,
                    TablePattern: str | None = None, NextToken: str | None = None, MaxResults: int | None = None,
                    **_ignored: Any) -> dict:
        cursor = self._cursor(Database, WorkgroupName, ClusterIdentifier, ConnectedDatabase)
        try:
            rows = cursor.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY 1, 2").fetchall()
        finally:
            cursor.close()
        tables = [{"schema": schema, "name": name, "type": "VIEW" if kind == "VIEW" else "TABLE"}
                  for schema, name, kind in rows
                  if schema not in HIDDEN_SCHEMAS and _like(SchemaPattern, schema) and _like(TablePattern, name)]
        page, token = _page(tables, NextToken, MaxResults)
        return {"Tables": page, **({"NextToken": token} if token else {})}

    def describe_table(self, Database: str, WorkgroupName: str | None = None, ClusterIdentifier: str | None = None,
                       ConnectedDatabase: str | None = None, Schema: str | None = None, Table: str | None = None,
                       NextToken: str | None = None, MaxResults: int | None = None, **_ignored: Any) -> dict:
        cursor = self._cursor(Database, WorkgroupName, ClusterIdentifier, ConnectedDatabase)
        schema = Schema or "public"
        try:
            rows = cursor.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default, numeric_precision, "
                "numeric_scale, character_maximum_length FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? ORDER BY table_name, ordinal_position",
                [schema]).fetchall()
        finally:
            cursor.close()
        if Table:
            rows = [r for r in rows if fnmatch.fnmatchcase(r[0], Table) or r[0] == Table]
        columns = [{
            "name": name, "label": name, "typeName": _redshift_type(dtype), "nullable": 1 if nullable == "YES" else 0,
            "columnDefault": default, "precision": precision or 0, "scale": scale or 0, "length": length or 0,
            "isSigned": dtype.upper() in _SIGNED or dtype.upper().startswith("DECIMAL"),
            "isCaseSensitive": dtype.upper() == "VARCHAR", "isCurrency": False, "schemaName": schema,
            "tableName": table,
        } for table, name, dtype, nullable, default, precision, scale, length in rows]
        page, token = _page(columns, NextToken, MaxResults)
        response = {"ColumnList": page, **({"NextToken": token} if token else {})}
        if Table:
            response["TableName"] = Table
        return response


_SIGNED = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL"}
_TYPE_NAMES = {"SMALLINT": "int2", "INTEGER": "int4", "BIGINT": "int8", "HUGEINT": "numeric", "REAL": "float4",
               "FLOAT": "float4", "DOUBLE": "float8", "BOOLEAN": "bool", "VARCHAR": "varchar", "DATE": "date",
               "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIME": "time", "BLOB": "varbyte",
               "TINYINT": "int2"}


def _redshift_type(duckdb_type: str) -> str:
    upper = duckdb_type.upper()
    if upper.startswith("DECIMAL"):
        return "numeric"
    return _TYPE_NAMES.get(upper, upper.lower())
