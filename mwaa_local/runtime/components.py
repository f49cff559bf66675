"""The Airflow processes MWAA runs, started the way MWAA starts them (api-server; scheduler, dag-processor and
triggerer together), each in its own session/process group with a pid record (airflow-<component>), so `down` and
`stop` end them and everything they started. Nothing listens beyond loopback: the api-server binds 127.0.0.1 and
the scheduler/triggerer log servers (0.0.0.0:8793/8794 in Airflow) are off; the api-server reads the same log files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mwaa_local import pid_records
from mwaa_local.errors import UserError
from mwaa_local.runtime.settings import HOST

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
RECORD_PREFIX = "airflow-"
SUPERVISOR = RECORD_PREFIX + "up"  # the `up` process itself


def command(name: str, api_port: int) -> list[str]:
    extra = {"api-server": ["--host", HOST, "--port", str(api_port)],
             "scheduler": ["--skip-serve-logs"], "triggerer": ["--skip-serve-logs"]}.get(name, [])
    return [sys.executable, "-m", "airflow", name, *extra]


def start(name: str, env: dict[str, str], api_port: int, log_file: Path) -> subprocess.Popen:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(command(name, api_port), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=env["AIRFLOW_HOME"])
    pid_records.write(RECORD_PREFIX + name, process.pid, api_port if name == "api-server" else None,
                      env["AIRFLOW_HOME"], process.args)
    return process


def migrate(env: dict[str, str], log_file: Path, timeout: float = 600) -> None:
    """`airflow db migrate` before any component (MWAA runs it without the startup script's exports)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        try:
            done = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise UserError(f"airflow db migrate took over {timeout:.0f} s; see {log_file}") from exc
    if done.returncode != 0:
        raise UserError(f"airflow db migrate failed (exit {done.returncode}); see {log_file}")


def db_revision(sql_alchemy_conn: str, table: str = "alembic_version") -> str | None:
    """The metadata DB's alembic revision (Airflow's; the FAB auth manager's is in alembic_version_fab), or None
    (no such table yet, or the DB cannot be read)."""
    import psycopg2

    try:
        conn = psycopg2.connect(sql_alchemy_conn.replace("postgresql+psycopg2://", "postgresql://", 1),
                                connect_timeout=10)
    except psycopg2.Error:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT version_num FROM {table}")
            row = cur.fetchone()
            return row[0] if row else None
    except psycopg2.Error:
        return None
    finally:
        conn.close()


def migrate_unless_current(env: dict[str, str], log_file: Path, marker: Path) -> bool:
    """`airflow db migrate` (Airflow's tables and, through the auth manager's DB manager, FAB's), skipped when both
    are at the revisions a migrate by this Airflow version left before, i.e. at their heads (a no-op migrate costs
    ~10 s of imports). True if it ran."""
    import json

    from mwaa_local.runtime.settings import AIRFLOW_VERSION

    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    try:
        done = json.loads(marker.read_text())
    except (OSError, ValueError):
        done = {}
    def current() -> dict:
        return {"airflow": AIRFLOW_VERSION, "auth_manager": env.get("AIRFLOW__CORE__AUTH_MANAGER"),
                "revision": db_revision(url), "fab_revision": db_revision(url, "alembic_version_fab")}

    if done.get("revision") and done.get("fab_revision") and done == current():
        return False
    migrate(env, log_file)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(current()))
    return True


def running() -> dict[str, pid_records.PidRecord]:
    """Live records of the supervisor and the components (stale ones are dropped)."""
    alive = {}
    for record in pid_records.read_all():
        if record.service.startswith(RECORD_PREFIX):
            if record.process() is not None:
                alive[record.service] = record
            else:
                pid_records.remove(record)
    return alive


def stop_all(timeout: float = 15) -> list[tuple[str, int]]:
    """Asks the supervisor to stop first (SIGTERM: it ends its components in parallel, and leaves the cloud and
    PostgreSQL, which have their own records, to `stop`), then ends whatever component is still recorded."""
    import psutil

    stopped = []
    every = pid_records.read_all()
    records = sorted((r for r in every if r.service.startswith(RECORD_PREFIX)), key=lambda r: r.service != SUPERVISOR)
    # The cloud, MLflow and PostgreSQL that `up` started are its descendants with records of their own: `stop`
    # ends them next (and says so), so a supervisor that has to be killed does not take them down unreported.
    services = frozenset(r.pid for r in every if not r.service.startswith(RECORD_PREFIX))
    for record in records:
        proc = record.process()
        if proc is not None:
            if record.service == SUPERVISOR:
                proc.terminate()
                try:
                    proc.wait(timeout + 15)
                except psutil.TimeoutExpired:
                    pid_records.terminate_tree(proc, timeout, spare=services)
            else:
                pid_records.terminate_tree(proc, timeout)
            stopped.append((record.service, record.pid))
        pid_records.remove(record)
    return stopped
