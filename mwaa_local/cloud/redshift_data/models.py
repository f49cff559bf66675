"""Statements of the Redshift Data API and their asynchronous execution (no HTTP here).

A statement is submitted, queued on a small thread pool, and run against its database under that database's lock
(DuckDB has one writer per file): SUBMITTED -> PICKED -> STARTED -> FINISHED | FAILED | ABORTED.
Everything a statement (or a batch) runs happens in ONE DuckDB transaction, so a failure leaves no trace.
A statement is recorded when it is submitted (a small file of its own) and the history is snapshotted through the
state store when it ends; result sets live in Parquet files under the service's data dir, so all survive a restart.
A statement caught mid-run by a crash reads FAILED after the restart (jobs.restart_error), never "not found".
"""

from __future__ import annotations

import copy as copy_module
import datetime as dt
import logging
import pickle
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mwaa_local.cloud import faults, jobs, moto_state
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.redshift_data import copy as copy_cmd
from mwaa_local.cloud.redshift_data import dialect, results
from mwaa_local.cloud.redshift_data import unload as unload_cmd
from mwaa_local.cloud.redshift_data.engine import DEFAULT_DATABASE, ENDPOINT_NAME, Database, Endpoint
from mwaa_local.cloud.redshift_data.errors import redshift_message
from mwaa_local.cloud.redshift_data.exceptions import ResourceNotFoundException, ValidationException
from mwaa_local.cloud.redshift_serverless.models import BUILT_IN_WORKGROUP

log = logging.getLogger(__name__)

DEFAULT_WORKGROUPS = (BUILT_IN_WORKGROUP,)
DEFAULT_CLUSTERS = ("local-cluster",)
TERMINAL = ("FINISHED", "FAILED", "ABORTED")
HISTORY_LIMIT = 5000  # AWS keeps 24 h of statements; a laptop keeps the most recent ones
STATE_NAME = "redshift-data"
MAX_SQL_BYTES = 100 * 1024  # AWS: "Cannot process query string larger than 100kB"
STOP_GRACE_S = 5.0  # how long a stopping cloud keeps interrupting statements that are still running


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Part:
    """One SQL string of a statement (ExecuteStatement has one, BatchExecuteStatement one per Sqls entry)."""

    id: str
    sql: str
    status: str = "SUBMITTED"
    error: str = ""
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)
    duration_ns: int = 0
    has_result_set: bool = False
    result_rows: int = -1
    result: results.ResultSet | None = None
    query_id: int = 0


@dataclass
class Statement:
    id: str
    parts: list[Part]
    is_batch: bool
    database: str
    workgroup: str | None
    cluster: str | None
    db_user: str | None = None
    secret_arn: str | None = None
    statement_name: str | None = None
    parameters: list[dict] = field(default_factory=list)
    status: str = "SUBMITTED"
    error: str = ""
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)
    duration_ns: int = 0
    cancel_requested: bool = False
    pid: int = 0

    def set_status(self, status: str, error: str = "") -> None:
        self.status, self.updated_at = status, _now()
        if error:
            self.error = error

    @property
    def query_string(self) -> str:
        return "; ".join(p.sql for p in self.parts) if self.is_batch else self.parts[0].sql


class StatementFailed(Exception):
    def __init__(self, message: str, aborted: bool = False):
        super().__init__(message)
        self.aborted = aborted


class Warehouse:
    """The known workgroups and clusters, each served from a folder of DuckDB files."""

    def __init__(self, root: Path, region: str, scratch: Path | None = None,
                 workgroups: Callable[[str], tuple[str, str] | None] | None = None):
        self.root, self.region = root, region
        self.scratch = (scratch,) if scratch else ()  # the only host folder DuckDB may touch besides its own files
        # workgroup name -> (folder, default database), from the Redshift Serverless control plane when served
        self._workgroups = workgroups or (lambda name: (name, DEFAULT_DATABASE) if name in DEFAULT_WORKGROUPS
                                          else None)
        self._endpoints: dict[str, Endpoint] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _moto_clusters(region: str) -> set[str]:
        try:
            return set(moto_state.backend("redshift", region).clusters)
        except Exception:  # moto's redshift backend not loaded yet: no clusters created
            return set()

    def endpoint(self, workgroup: str | None, cluster: str | None) -> Endpoint:
        if workgroup and cluster:
            raise ValidationException("Specify either ClusterIdentifier or WorkgroupName, not both.")
        if not workgroup and not cluster:
            raise ValidationException("Either ClusterIdentifier or WorkgroupName needs to be specified.")
        name = workgroup or cluster
        if not isinstance(name, str) or not ENDPOINT_NAME.fullmatch(name):  # moto's CreateCluster accepts '../x'
            raise ValidationException(f"Invalid {'WorkgroupName' if workgroup else 'ClusterIdentifier'} {name!r}: "
                                      "use letters, digits and hyphens.")
        if workgroup:
            storage = self._workgroups(workgroup)
        else:
            known = cluster in DEFAULT_CLUSTERS or cluster in self._moto_clusters(self.region)
            storage = (cluster, DEFAULT_DATABASE) if known else None
        if storage is None:
            what = "Workgroup" if workgroup else "Cluster"
            raise ValidationException(f"Redshift endpoint doesn't exist in this region. {what} {workgroup or cluster} "
                                      f"not found (the local cloud knows workgroup {', '.join(DEFAULT_WORKGROUPS)} "
                                      "and those created with redshift-serverless CreateWorkgroup, cluster "
                                      f"{', '.join(DEFAULT_CLUSTERS)} and clusters created with redshift "
                                      "CreateCluster).")
        folder, default_database = storage
        with self._lock:
            if folder not in self._endpoints:  # the folder's name is validated by Endpoint
                self._endpoints[folder] = Endpoint(self.root / folder, folder, self.scratch, default_database)
            return self._endpoints[folder]

    def drop(self, folder: str) -> None:
        """Removes a folder's databases (a deleted Redshift Serverless namespace)."""
        with self._lock:
            endpoint = self._endpoints.pop(folder, None)
        if endpoint is not None:
            endpoint.close()
        shutil.rmtree(self.root / folder, ignore_errors=True)

    def close(self) -> None:
        for endpoint in self._endpoints.values():
            endpoint.close()


class RedshiftDataBackend:
    def __init__(self, context: CloudContext, workers: int = 4):
        self.context = context
        root = context.data_dir("redshift")
        self.results_dir = root / "results"
        self.tmp_dir = root / "tmp"
        self.warehouse = Warehouse(root / "warehouse", context.region, scratch=self.tmp_dir,
                                   workgroups=self._workgroup_storage)
        self.results_dir.mkdir(exist_ok=True)
        self.tmp_dir.mkdir(exist_ok=True)
        self.submitted_dir = root / "submitted"  # one small file per statement in flight, see _record_submitted
        self.submitted_dir.mkdir(exist_ok=True)
        self.statements: dict[str, Statement] = {}
        self._lock = threading.RLock()
        self._running: dict[str, Database] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redshift-data")
        self._stopping = False
        self._query_ids = iter(range(int(time.time()) % 100000 * 1000, 1 << 62))
        context.store.register(STATE_NAME, self._snapshot, self._restore)
        context.registry[STATE_NAME] = self
        context.store.register_recovery(STATE_NAME, self._recover)

    def _workgroup_storage(self, name: str) -> tuple[str, str] | None:
        serverless = self.context.registry.get("redshift-serverless")
        if serverless is None:  # the control plane is not served: only the built-in workgroup exists
            return (name, DEFAULT_DATABASE) if name in DEFAULT_WORKGROUPS else None
        return serverless.storage_of(name)

    # ---- durability of the history -------------------------------------------------------------------------

    def _snapshot(self) -> list[Statement]:
        with self._lock:
            return [copy_module.copy(s) for s in self.statements.values()]

    def _restore(self, saved: list[Statement]) -> None:
        with self._lock:
            for statement in saved:
                self.statements[statement.id] = statement
        kept = {p.result.path.name for s in saved for p in s.parts if p.result}
        for path in self.results_dir.glob("*.parquet"):
            if path.name not in kept:
                path.unlink(missing_ok=True)

    def _record_submitted(self, statement: Statement) -> None:
        """Makes a new statement durable at once, as its own small file rather than a snapshot of the whole history
        (that would cost every ExecuteStatement the pickling of up to HISTORY_LIMIT statements). It is removed once
        the history snapshot holds the statement's end."""
        if not self.context.store.persistent:
            return
        path = self.submitted_dir / f"{statement.id}.pkl"
        try:
            path.with_suffix(".tmp").write_bytes(pickle.dumps(copy_module.copy(statement)))
            path.with_suffix(".tmp").replace(path)  # never a half-written record (a kill -9 keeps the page cache)
        except OSError:
            log.exception("could not record statement %s", statement.id)

    def _recover(self) -> bool:
        """Statements in flight when the cloud died: their transaction died with it, so they read FAILED."""
        message = jobs.restart_error("statement")
        records = sorted(self.submitted_dir.glob("*.pkl"), key=lambda path: path.stat().st_mtime)
        with self._lock:
            for path in records:
                try:
                    statement = pickle.loads(path.read_bytes())
                except Exception:  # torn or from another version: nothing to recover from it
                    log.warning("ignoring unreadable statement record %s", path)
                    continue
                self.statements.setdefault(statement.id, statement)
            interrupted = [s for s in self.statements.values() if s.status not in TERMINAL]
            for statement in interrupted:
                pending = [p for p in statement.parts if p.status not in TERMINAL]
                failed = next((p for p in pending if p.status == "STARTED"), pending[0] if pending else None)
                for part in pending:
                    part.status, part.updated_at = ("FAILED", _now()) if part is failed else ("ABORTED", _now())
                if failed is not None:
                    failed.error = message
                statement.set_status("FAILED", message)
        if interrupted:
            self._persist()
        for path in records:  # only now that the history holds them
            path.unlink(missing_ok=True)
        return False

    def _persist(self) -> None:
        try:
            self.context.store.save(STATE_NAME)
        except Exception:  # history is a convenience; a failed snapshot must not fail the statement
            log.exception("could not persist the Redshift Data API history")

    def _trim_history(self) -> None:
        with self._lock:
            excess = len(self.statements) - HISTORY_LIMIT
            if excess <= 0:
                return
            for statement_id in list(self.statements)[:excess]:
                statement = self.statements[statement_id]
                if statement.status in TERMINAL:
                    for part in self.statements.pop(statement_id).parts:
                        if part.result:
                            part.result.delete()

    # ---- submitting -------------------------------------------------------------------------------------------

    def submit(self, sqls: list[str], is_batch: bool, database: str | None, workgroup: str | None,
               cluster: str | None, parameters: list[dict] | None = None, **extra) -> Statement:
        endpoint = self.warehouse.endpoint(workgroup, cluster)
        if not database:
            raise ValidationException("Database needs to be specified (for example Database='dev').")
        for sql in sqls:
            if not sql or not sql.strip():
                raise ValidationException("Sql must not be empty.")
            if len(sql.encode()) > MAX_SQL_BYTES:
                raise ValidationException("Cannot process query string larger than 100kB")
        params = {}
        for parameter in parameters or []:
            if not isinstance(parameter, dict) or "name" not in parameter or "value" not in parameter:
                raise ValidationException("Each parameter needs a name and a value.")
            params[parameter["name"]] = str(parameter["value"])
        statement_id = str(uuid.uuid4())
        parts = [Part(f"{statement_id}:{n}" if is_batch else statement_id, sql) for n, sql in enumerate(sqls, 1)]
        statement = Statement(statement_id, parts, is_batch, database, workgroup, cluster,
                              parameters=list(parameters or []), pid=1073741824 + len(self.statements), **extra)
        with self._lock:
            self.statements[statement_id] = statement
        self._record_submitted(statement)  # before it runs: a crash must leave a FAILED statement, not a missing one
        self._pool.submit(self._run, statement, endpoint, params)
        self._trim_history()
        return statement

    # ---- running ----------------------------------------------------------------------------------------------

    def _run(self, statement: Statement, endpoint: Endpoint, params: dict[str, str]) -> None:
        if self._stopping:  # queued when the cloud began to stop: it stays in flight for the next start
            return
        try:
            if statement.status == "ABORTED":
                return
            statement.set_status("PICKED")
            database = endpoint.database(statement.database)
            if database is None:
                self._fail(statement, f'FATAL: database "{statement.database.lower()}" does not exist', 0)
                return
            with database.lock:
                if statement.cancel_requested or statement.status == "ABORTED":
                    self._abort_rest(statement, 0)
                    return
                statement.set_status("STARTED")
                started = time.monotonic_ns()
                with self._lock:
                    self._running[statement.id] = database
                try:
                    self._run_parts(statement, endpoint, database, params)
                    statement.duration_ns = time.monotonic_ns() - started
                    statement.set_status("FINISHED")
                except StatementFailed as exc:
                    if self._stopping:  # interrupted by close(): no verdict here, the next start gives it
                        return
                    if exc.aborted:
                        self._abort_rest(statement, time.monotonic_ns() - started)
                    else:
                        self._fail(statement, str(exc), time.monotonic_ns() - started)
                finally:
                    with self._lock:
                        self._running.pop(statement.id, None)
                    try:
                        database.drop_session_objects()
                    except duckdb.Error:
                        log.exception("could not drop temp objects of %s", statement.id)
        except Exception as exc:  # a bug here must still end the statement, not leave it STARTED forever
            if self._stopping:
                return
            log.exception("statement %s crashed", statement.id)
            self._fail(statement, f"internal error of the local cloud: {exc}", 0)
        finally:
            if not self._stopping:
                self._persist()
                (self.submitted_dir / f"{statement.id}.pkl").unlink(missing_ok=True)

    def _fail(self, statement: Statement, message: str, duration: int) -> None:
        statement.duration_ns = duration
        failed = next((p for p in statement.parts if p.status == "FAILED"), None)
        if not failed:
            failed = next((p for p in statement.parts if p.status not in TERMINAL), statement.parts[0])
            failed.status, failed.error, failed.updated_at = "FAILED", message, _now()
        for part in statement.parts:
            if part.status not in TERMINAL:
                part.status, part.updated_at = "ABORTED", _now()
        statement.set_status("FAILED", failed.error or message)

    def _abort_rest(self, statement: Statement, duration: int) -> None:
        statement.duration_ns = duration
        for part in statement.parts:
            if part.status not in TERMINAL:
                part.status, part.updated_at = "ABORTED", _now()
        statement.set_status("ABORTED", "Query (statement) cancelled on user's request")

    def _run_parts(self, statement: Statement, endpoint: Endpoint, database: Database,
                   params: dict[str, str]) -> None:
        conn = database.conn
        # Parse everything first: a syntax error in the third SQL of a batch must not run the first two.
        plans = []
        for part in statement.parts:
            try:
                pieces = dialect.split(part.sql)
                if not pieces:
                    raise dialect.SqlError("syntax error at end of input")
                plans.append([dialect.classify(text, tokens, params) for text, tokens in pieces])
            except dialect.SqlError as exc:
                part.status, part.error, part.updated_at = "FAILED", f"ERROR: {exc}", _now()
                raise StatementFailed(part.error) from None
        single_ddl = len(plans) == 1 and len(plans[0]) == 1 and plans[0][0].kind in ("create_database", "drop_database")
        if single_ddl:
            return self._run_database_ddl(statement, statement.parts[0], plans[0][0], endpoint)
        if any(s.kind in ("create_database", "drop_database") for plan in plans for s in plan):
            part = statement.parts[0]
            part.status, part.error = "FAILED", "ERROR: CREATE/DROP DATABASE cannot run inside a transaction block"
            raise StatementFailed(part.error)
        self._reset(conn)
        conn.execute("BEGIN TRANSACTION")
        try:
            for part, plan in zip(statement.parts, plans, strict=True):
                self._run_part(statement, part, plan, conn)
            conn.execute("COMMIT")
        except BaseException:
            self._reset(conn)
            raise

    @staticmethod
    def _reset(conn: duckdb.DuckDBPyConnection) -> None:
        """Ends whatever transaction a failed statement left open (none is fine: DuckDB then says so)."""
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error:
            pass

    def _run_part(self, statement: Statement, part: Part, plan: list[dialect.Statement],
                  conn: duckdb.DuckDBPyConnection) -> None:
        part.status, part.updated_at, part.query_id = "STARTED", _now(), next(self._query_ids)
        started = time.monotonic_ns()
        try:
            for n, stmt in enumerate(plan):
                if statement.cancel_requested:
                    raise duckdb.InterruptException("cancelled")
                fault = faults.fire("redshift-data", stmt.text)  # tests' injected failures (cloud/faults.py)
                if fault:
                    raise dialect.SqlError(fault.error_message())
                last = n == len(plan) - 1
                rows, result = self._execute_one(part, stmt, conn, keep_result=last)
                if last:
                    part.result_rows, part.has_result_set = rows, result is not None
                    part.result = result
        except duckdb.InterruptException:
            part.status, part.error = "ABORTED", "Query (statement) cancelled on user's request"
            raise StatementFailed(part.error, aborted=True) from None
        except (dialect.SqlError, duckdb.Error, results.ResultTooLarge) as exc:
            message = str(exc) if isinstance(exc, (dialect.SqlError, results.ResultTooLarge)) else redshift_message(exc)
            part.status, part.error, part.updated_at = "FAILED", f"ERROR: {message}", _now()
            part.duration_ns = time.monotonic_ns() - started
            raise StatementFailed(part.error) from None
        part.duration_ns = time.monotonic_ns() - started
        part.status, part.updated_at = "FINISHED", _now()

    def _execute_one(self, part: Part, stmt: dialect.Statement, conn: duckdb.DuckDBPyConnection,
                     keep_result: bool) -> tuple[int, results.ResultSet | None]:
        if stmt.kind == "noop":
            return 0, None
        if stmt.kind == "transaction":  # the statement is already one transaction; COMMIT/ROLLBACK end a step
            word = stmt.tokens[0].text.upper()
            if word in ("COMMIT", "END"):
                conn.execute("COMMIT")
                conn.execute("BEGIN TRANSACTION")
            elif word in ("ROLLBACK", "ABORT"):
                conn.execute("ROLLBACK")
                conn.execute("BEGIN TRANSACTION")
            return 0, None
        if stmt.kind == "copy":
            return copy_cmd.run(conn, stmt.tokens, self.context.s3, self.tmp_dir), None
        if stmt.kind == "unload":
            return unload_cmd.run(conn, stmt.text, self.context.s3, self.tmp_dir, self._query_to_duckdb), None
        for sql in stmt.duckdb[:-1]:
            conn.execute(sql)
        cursor = conn.execute(stmt.duckdb[-1])
        if stmt.has_result_set and keep_result:
            path = self.results_dir / f"{part.id.replace(':', '_')}.parquet"
            reader = cursor.to_arrow_reader(65536)
            try:
                result = results.write(reader, path)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            finally:
                reader.close()  # a half-read result would keep the transaction busy
            return result.rows, result
        description = cursor.description
        if description and description[0][0] == "Count":
            row = cursor.fetchone()
            return (int(row[0]) if row else 0), None
        if stmt.has_result_set:
            return len(cursor.fetchall()), None
        return 0, None

    @staticmethod
    def _query_to_duckdb(query: str) -> str:
        pieces = dialect.split(query)
        if len(pieces) != 1:
            raise dialect.SqlError("UNLOAD takes exactly one SELECT statement")
        stmt = dialect.classify(*pieces[0])
        if stmt.kind != "sql" or not stmt.has_result_set:
            raise dialect.SqlError("UNLOAD's query must be a SELECT statement")
        return stmt.duckdb[-1]

    def _run_database_ddl(self, statement: Statement, part: Part, stmt: dialect.Statement, endpoint: Endpoint) -> None:
        part.status, part.query_id = "STARTED", next(self._query_ids)
        try:
            if stmt.kind == "create_database":
                endpoint.create_database(stmt.name)
            else:
                endpoint.drop_database(stmt.name, statement.database.lower())
        except ValueError as exc:
            part.status, part.error = "FAILED", f"ERROR: {exc}"
            raise StatementFailed(part.error) from None
        part.status, part.result_rows, part.updated_at = "FINISHED", 0, _now()

    # ---- reading ----------------------------------------------------------------------------------------------

    def get(self, statement_id: str) -> tuple[Statement, Part | None]:
        """A statement by id; 'id:n' names the n-th SQL of a batch."""
        base, _, sub = statement_id.partition(":")
        with self._lock:
            statement = self.statements.get(base)
        if statement is None:
            raise ResourceNotFoundException("Query does not exist.")
        if not sub:
            return statement, None
        if not statement.is_batch:
            raise ValidationException(f"{statement_id} is not a sub-statement id: {base} is not a batch.")
        part = next((p for p in statement.parts if p.id == statement_id), None)
        if part is None:
            raise ResourceNotFoundException("Query does not exist.")
        return statement, part

    def cancel(self, statement_id: str) -> bool:
        statement, _ = self.get(statement_id)
        with self._lock:
            if statement.status in TERMINAL:
                raise ValidationException(f"Could not cancel a query that is already in {statement.status} state.")
            statement.cancel_requested = True
            if statement.status in ("SUBMITTED", "PICKED"):
                self._abort_rest(statement, 0)
                return True
            database = self._running.get(statement.id)
        if database is not None:
            database.interrupt()
        return True

    def list_statements(self) -> list[Statement]:
        with self._lock:
            return sorted(self.statements.values(), key=lambda s: s.created_at, reverse=True)

    def database(self, workgroup: str | None, cluster: str | None, name: str) -> Database:
        endpoint = self.warehouse.endpoint(workgroup, cluster)
        database = endpoint.database(name)
        if database is None:
            raise ValidationException(f'FATAL: database "{name}" does not exist')
        return database

    def close(self) -> None:
        """The cloud is stopping: statements still running are interrupted and left in flight (their submit
        records stay), so the next start reads them FAILED as after a crash, and a long query cannot hold the
        process open: the pool's threads are joined at interpreter exit."""
        self._stopping = True
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline:  # again and again: an interrupt sent just before DuckDB starts is lost
            with self._lock:
                running = list(self._running.values())
            if not running:
                break
            for database in running:
                database.interrupt()
            time.sleep(0.05)
        self._pool.shutdown(wait=False, cancel_futures=True)
