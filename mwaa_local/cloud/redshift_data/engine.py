"""One Redshift database = one DuckDB file, one connection, one writer at a time.

A commit is on disk when DuckDB returns (WAL), so the warehouse survives a crash without any snapshot of ours.

Each connection is sandboxed (the engine half of the SQL sandbox; sandbox.py checks the statements): DuckDB may
open its own database file, its temp directory and the emulator's scratch area (where COPY stages S3 objects and
UNLOAD writes its parts), nothing else on the host, no network, no extension install or load, and its
configuration is locked so no statement can undo any of this.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb

from mwaa_local.cloud.redshift_data import functions
from mwaa_local.cloud.redshift_data.quoting import quote_identifier, quote_literal

DEFAULT_DATABASE = "dev"
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,126}$")
# Workgroup / cluster identifiers (AWS: letters, digits, hyphens); an endpoint is a folder named after it.
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")
# Per-connection limits: a laptop runs several databases plus Airflow next to them.
SETTINGS = {"memory_limit": "4GB", "threads": 2, "TimeZone": "UTC", "enable_progress_bar": "false"}
# Extensions COPY/UNLOAD and the SQL need, loaded before the lock (they are built into the duckdb wheel).
EXTENSIONS = ("parquet", "json", "icu")
# Given when the connection opens: nothing is ever fetched or loaded on demand.
OPEN_CONFIG = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def lock_down(conn: duckdb.DuckDBPyConnection, allowed: Sequence[Path]) -> None:
    """No file or network access beyond `allowed` directories (plus the database's own files), configuration locked."""
    directories = ", ".join(quote_literal(str(Path(d).absolute()).rstrip("/") + "/") for d in allowed)
    conn.execute(f"SET allowed_directories = [{directories}]")
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")


class Database:
    def __init__(self, path: Path, name: str, scratch: Sequence[Path] = ()):
        self.path, self.name = path, name
        self.lock = threading.Lock()  # DuckDB has one writer per file: statements on a database run one by one
        self.conn = duckdb.connect(str(path), config=OPEN_CONFIG)
        for key, value in SETTINGS.items():
            try:
                self.conn.execute(f"SET {key} = '{value}'")
            except duckdb.Error:  # TimeZone needs ICU; without it DuckDB is UTC anyway
                pass
        for extension in EXTENSIONS:
            try:
                self.conn.execute(f"LOAD {extension}")
            except duckdb.Error:  # not in this build: the statements that need it fail clearly later
                pass
        functions.install(self.conn)  # Redshift functions DuckDB lacks (macros, Python functions)
        self.conn.execute(f"SET temp_directory = {quote_literal(str(path.parent / ('.' + path.stem + '.tmp')))}")
        lock_down(self.conn, scratch)
        # Redshift's default schema is public; DuckDB's is main.
        self.conn.execute("CREATE SCHEMA IF NOT EXISTS public")
        self.conn.execute("SET schema = 'public'")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A second cursor for catalog reads that must not wait for a long statement."""
        cursor = self.conn.cursor()
        cursor.execute("SET schema = 'public'")
        return cursor

    def drop_session_objects(self) -> None:
        """Each Data API statement is its own session: its temp tables and sequences end with it."""
        for (name,) in self.conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall():
            self.conn.execute(f"DROP TABLE IF EXISTS temp.main.{quote_identifier(name)}")
        for (name,) in self.conn.execute(
                "SELECT sequence_name FROM duckdb_sequences() WHERE temporary").fetchall():
            self.conn.execute(f"DROP SEQUENCE IF EXISTS temp.main.{quote_identifier(name)}")

    def interrupt(self) -> None:
        self.conn.interrupt()

    def close(self) -> None:
        self.conn.close()


class Endpoint:
    """A serverless workgroup or provisioned cluster: a folder of database files."""

    def __init__(self, root: Path, name: str, scratch: Sequence[Path] = (), default_database: str = DEFAULT_DATABASE):
        if not ENDPOINT_NAME.fullmatch(name) or root.name != name:
            raise ValueError(f"invalid workgroup or cluster name {name!r}")
        self.root, self.name, self.scratch, self.default_database = root, name, tuple(scratch), default_database
        self.root.mkdir(parents=True, exist_ok=True)
        self._databases: dict[str, Database] = {}
        self._lock = threading.Lock()
        self.database(default_database)

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.duckdb"))

    def exists(self, name: str) -> bool:
        # Only a valid name can be a file of ours: '../x' must never reach the filesystem.
        return bool(DATABASE_NAME.fullmatch(name)) and (self.root / f"{name}.duckdb").exists()

    def database(self, name: str, create: bool = False) -> Database | None:
        name = name.lower()
        if not DATABASE_NAME.fullmatch(name):
            return None
        with self._lock:
            if name in self._databases:
                return self._databases[name]
            path = self.root / f"{name}.duckdb"
            if not path.exists() and not (create or name == self.default_database):
                return None
            database = self._databases[name] = Database(path, name, self.scratch)
            return database

    def create_database(self, name: str) -> None:
        if not DATABASE_NAME.fullmatch(name):
            raise ValueError(f'invalid database name "{name}"')
        if self.exists(name):
            raise ValueError(f'database "{name}" already exists')
        self.database(name, create=True)

    def drop_database(self, name: str, current: str) -> None:
        if name == current:
            raise ValueError("cannot drop the currently open database")
        if not self.exists(name):
            raise ValueError(f'database "{name}" does not exist')
        with self._lock:
            database = self._databases.pop(name, None)
            if database:
                with database.lock:
                    database.close()
            (self.root / f"{name}.duckdb").unlink()
            (self.root / f"{name}.duckdb.wal").unlink(missing_ok=True)

    def close(self) -> None:
        for database in self._databases.values():
            database.close()
