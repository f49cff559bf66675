"""The embedded PostgreSQL server: one server for Airflow's metadata DB, MLflow and the retail source DB.

Uses the PostgreSQL binaries that the `pgserver` wheel ships (pip-installed, no Docker). We drive initdb/pg_ctl
ourselves rather than through pgserver.get_server() because that listens on a Unix socket only and stops the
server when the Python process exits; here the server must outlive the command that started it and be
reachable by a plain TCP DSN (Airflow connections, MLflow, psql) like RDS is.

- Data lives in paths.local_state()/postgres (override with data_dir=...).
- It listens on 127.0.0.1 only, trust auth (a developer's loopback server, never exposed).
- As root, PostgreSQL refuses to run; like pgserver itself we run it as the unprivileged user `pgserver`.
- MWAA_LOCAL_POSTGRES_DSN points everything at a user-provided server instead (then we start/stop nothing).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mwaa_local import paths
from mwaa_local.errors import UserError

DSN_ENV = "MWAA_LOCAL_POSTGRES_DSN"
PORT_ENV = "MWAA_LOCAL_POSTGRES_PORT"
DEFAULT_PORT = 55432  # not 5432: do not collide with a system PostgreSQL
HOST = "127.0.0.1"
SUPERUSER = "postgres"
RUN_AS = "pgserver"  # the unprivileged OS user when we are root
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Settings for a disposable developer server: fast bulk loads (COPY into a table created in the same
# transaction skips WAL with wal_level=minimal); synchronous_commit=off never corrupts, it may lose the last
# few hundred ms of commits on an OS crash.
_SERVER_OPTIONS = (
    "-c wal_level=minimal -c max_wal_senders=0 -c synchronous_commit=off -c max_wal_size=2GB "
    "-c max_connections=200 -c shared_buffers=256MB"
)


def default_data_dir() -> Path:
    return paths.local_state() / "postgres"


def user_dsn() -> str | None:
    return os.environ.get(DSN_ENV) or None


def _bin(name: str) -> Path:
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - the lock installs it
        raise UserError(f"pgserver is not installed ({exc}); run ./mwaa-local to sync .venv, or set {DSN_ENV}") from exc
    return POSTGRES_BIN_PATH / name


def _run_as() -> str | None:
    return RUN_AS if os.geteuid() == 0 else None


def _prepare_for_unprivileged_user(data_dir: Path) -> None:
    """As root: create the `pgserver` user and let it reach the binaries and own the data dir."""
    import pwd
    import stat

    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(RUN_AS)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    entry = pwd.getpwnam(RUN_AS)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)


def _pg(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(_bin(name)), *args], capture_output=True, text=True, timeout=timeout,
                          user=_run_as(), stdin=subprocess.DEVNULL)


def _running_port(data_dir: Path) -> int | None:
    """The port of the server running on data_dir (from postmaster.pid), or None if none runs."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    if len(lines) < 4 or _pg("pg_ctl", "status", "-D", str(data_dir)).returncode != 0:
        return None
    return int(lines[3])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # SO_REUSEADDR as PostgreSQL sets it: a port in TIME_WAIT after a `stop` is free; a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _pick_port(port: int | None) -> int:
    if port is None:
        port = int(os.environ.get(PORT_ENV, DEFAULT_PORT))
    if port == 0:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            return sock.getsockname()[1]
    if not _port_free(port):
        raise UserError(f"port {port} on {HOST} is taken by another program; set {PORT_ENV} to a free port "
                        f"or {DSN_ENV} to use your own PostgreSQL server")
    return port


def server_dsn(port: int, database: str = SUPERUSER) -> str:
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}"


def ensure_server(data_dir: Path | None = None, port: int | None = None) -> str:
    """Starts the embedded server unless it already runs (or a user DSN is set); returns the maintenance DSN.

    port: None = $MWAA_LOCAL_POSTGRES_PORT or 55432; 0 = any free port (tests). Ignored if the server already runs.
    """
    if data_dir is None and user_dsn():
        return user_dsn()
    data_dir = Path(data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if _run_as():
        _prepare_for_unprivileged_user(data_dir)
    running = _running_port(data_dir)
    if running:
        return server_dsn(running)
    if not (data_dir / "PG_VERSION").exists():
        if any(data_dir.iterdir()):
            raise UserError(f"{data_dir} is not empty and holds no PostgreSQL cluster; move it away or pick another data dir")
        done = _pg("initdb", "-D", str(data_dir), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER)
        if done.returncode != 0:
            raise UserError(f"initdb failed in {data_dir}: {done.stderr.strip() or done.stdout.strip()}")
    chosen = _pick_port(port)
    log = data_dir / "server.log"
    # -k "": no Unix socket (its path length and permissions are trouble under deep or root-owned folders).
    options = f'-h {HOST} -p {chosen} -k "" {_SERVER_OPTIONS}'
    done = _pg("pg_ctl", "start", "-w", "-t", "60", "-D", str(data_dir), "-l", str(log), "-o", options)
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log.exists() else done.stderr
        raise UserError(f"PostgreSQL did not start on {HOST}:{chosen} (data {data_dir}); log tail:\n{tail}")
    if data_dir == default_data_dir().resolve():
        _record(data_dir, chosen)
    return server_dsn(chosen)


RECORD = "postgres"  # .local/run/postgres.json (mwaa_local.pid_records), for `./mwaa-local stop`


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _record(data_dir: Path, port: int) -> None:
    from mwaa_local import pid_records

    pid = _postmaster_pid(data_dir)
    if pid:
        pid_records.write(RECORD, pid, port, data_dir, [str(_bin("postgres")), "-D", str(data_dir), "-p", str(port)])


def running_port(data_dir: Path | None = None) -> int | None:
    """The port of the embedded server on data_dir (default .local/postgres), or None if it is not running."""
    return _running_port(Path(data_dir or default_data_dir()).resolve())


def stop(data_dir: Path | None = None) -> bool:
    """Stops the embedded server (fast shutdown); True if one was running. Never touches a user DSN's server."""
    from mwaa_local import pid_records

    data_dir = Path(data_dir or default_data_dir()).resolve()
    record = pid_records.read(RECORD) if data_dir == default_data_dir().resolve() else None
    stopped = False
    if _running_port(data_dir) is not None:
        done = _pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(data_dir))
        if done.returncode != 0 and (record is None or record.process() is None):
            raise UserError(f"pg_ctl stop failed for {data_dir}: {done.stderr.strip()}")
        stopped = True
    if record is not None:
        proc = record.process()  # pg_ctl failed, or the server no longer answers: end the recorded process
        if proc is not None:
            pid_records.terminate_tree(proc)
            stopped = True
        pid_records.remove(record)
    return stopped


def with_database(dsn: str, name: str) -> str:
    """The same server's DSN for another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def check_database_name(name: str) -> str:
    if not _DB_NAME.match(name):
        raise UserError(f"database name {name!r} must be lower-case letters, digits and _ (max 63), starting with a letter or _")
    return name


def create_database(name: str, dsn: str | None = None) -> str:
    """Creates database `name` on the server (no-op if it exists); returns its DSN."""
    import psycopg2

    check_database_name(name)
    dsn = dsn or ensure_server()
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return with_database(dsn, name)
