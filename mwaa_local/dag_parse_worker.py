"""Parses ONE DAG file the way the MWAA dag-processor does, in a fresh interpreter, and writes what it saw as JSON.

Run by mwaa_local.dag_integrity as `python -I dag_parse_worker.py ...`: -I keeps the repository and PYTHONPATH off
sys.path, so the file sees only site-packages plus what Airflow itself adds (the DAGs and plugins folders), as on MWAA.
Standalone on purpose (stdlib + Airflow only): it must not import mwaa_local.

While the file is parsed, every network call, metadata-database access and process start is blocked and recorded,
even when the DAG code catches the error (a `Variable.get(..., default=...)` would otherwise hide the access).
A file that crashes the interpreter itself (os._exit, a segfault in C code) ends the worker without a result: the
caller reports that as a crashed parser, and faulthandler leaves the Python stack of a fatal signal on stderr.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import resource
import signal
import sys
import time
import traceback

HEAVY = ("pandas", "numpy", "sklearn", "mlflow", "great_expectations")
NETWORK_EVENTS = {
    "socket.connect", "socket.sendto", "socket.sendmsg",
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
}
# Starting a process: the command's argument list is the first argument of the event, except where noted.
PROCESS_EVENTS = {"subprocess.Popen": 1, "os.system": 0, "os.posix_spawn": 1, "os.exec": 1, "os.spawn": 2,
                  "os.fork": None, "os.forkpty": None}
# Supervisor messages that do not reach the metadata database (secret masking, log plumbing).
NOT_DATABASE = {"MaskSecret", "ResendLoggingFD"}
# What the dag-processor has loaded before it imports a DAG file; the heavy-import check is only meaningful if
# none of HEAVY is already among these.
BASELINE = (
    "airflow",
    "airflow.sdk",
    "airflow.dag_processing.dagbag",
    "airflow.serialization.serialized_objects",
    "airflow.sdk.execution_time.task_runner",
)


class NetworkBlocked(ConnectionRefusedError):
    pass


class MetadataDatabaseBlocked(RuntimeError):
    pass


class ProcessBlocked(PermissionError):
    pass


class Recorder:
    """Collects what the DAG file did at parse time."""

    def __init__(self, user_roots: list[str]):
        self.user_roots = tuple(os.path.join(os.path.abspath(p), "") for p in user_roots)
        self.armed = False
        self.network: list[str] = []
        self.database: list[str] = []
        self.heavy: dict[str, str] = {}
        self.dag_inits: list[dict] = []
        self.aws_clients: list[str] = []
        self.processes: list[str] = []

    def culprit(self) -> str:
        """Where the access comes from: the innermost line of user code (DAG or plugin file), and the innermost
        line of any code when that is elsewhere (e.g. a provider module the DAG file imported)."""
        frames = [f for f in traceback.extract_stack()[:-2] if not f.filename.startswith("<")]
        frames = [f for f in frames if f.filename != __file__]
        if not frames:
            return "?"
        inner = f"{frames[-1].filename}:{frames[-1].lineno}"
        user = next((f"{f.filename}:{f.lineno}" for f in reversed(frames) if f.filename.startswith(self.user_roots)), None)
        return inner if user in (None, inner) else f"{user} (via {inner})"

    def audit(self, event: str, args: tuple) -> None:
        if not self.armed:
            return
        if event in PROCESS_EVENTS:
            index = PROCESS_EVENTS[event]
            command = f" {args[index]!r}" if index is not None and index < len(args) else ""
            self.processes.append(f"{event}{command} at {self.culprit()}")
            raise ProcessBlocked(f"starting a process is blocked while a DAG file is parsed ({event}{command})")
        if event not in NETWORK_EVENTS:
            return
        target = args[1] if event in {"socket.connect", "socket.sendto", "socket.sendmsg"} else args[0]
        self.network.append(f"{event} {target!r} at {self.culprit()}")
        raise NetworkBlocked(f"network access is blocked while a DAG file is parsed ({event} {target!r})")


class RecordingComms:
    """Stands in for the dag-processor's supervisor channel: in Airflow 3 that is how parse-time Variable.get and
    connection lookups reach the metadata database (through the API server)."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def send(self, msg):
        if type(msg).__name__ in NOT_DATABASE:
            return None
        what = f"{type(msg).__name__}({', '.join(f'{k}={v!r}' for k, v in _fields(msg).items())})"
        self.recorder.database.append(f"{what} at {self.recorder.culprit()}")
        raise MetadataDatabaseBlocked(f"metadata database access is blocked while a DAG file is parsed: {what}")

    asend = send


def _fields(msg) -> dict:
    try:
        return {k: v for k, v in msg.model_dump().items() if k != "type"}
    except Exception:
        return {}


class HeavyImportFinder:
    """A sys.meta_path hook that notes who first imports a heavy package (it never loads anything itself)."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if self.recorder.armed and top in HEAVY and top not in self.recorder.heavy and name == top:
            self.recorder.heavy[top] = self.recorder.culprit()
        return None


def _record_dag_inits(recorder: Recorder) -> None:
    """Wraps DAG.__init__ to learn which arguments were passed explicitly (e.g. schedule left to its default)."""
    from airflow.sdk import DAG

    original = DAG.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if recorder.armed:
            recorder.dag_inits.append({"dag_id": self.dag_id, "explicit": sorted(kwargs), "id": id(self)})

    DAG.__init__ = __init__


def _block_orm(recorder: Recorder) -> None:
    """Direct ORM use (airflow.settings.Session) would open a DBAPI connection: refuse it before the driver runs."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "do_connect")
    def _refuse(dialect, conn_rec, cargs, cparams):
        if recorder.armed:
            recorder.database.append(f"SQLAlchemy connect ({dialect.name}) at {recorder.culprit()}")
            raise MetadataDatabaseBlocked("metadata database access is blocked while a DAG file is parsed")


def _record_aws_clients(recorder: Recorder) -> None:
    """Creating a boto3/botocore client makes no network call, so only recording it catches a client built at the
    top of a DAG file (credential lookup and endpoint resolution on every parse, every 30 s)."""
    try:
        from botocore.session import Session
    except ImportError:  # no AWS SDK: nothing to record
        return
    original = Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        if recorder.armed:
            recorder.aws_clients.append(f"{service_name} client at {recorder.culprit()}")
        return original(self, service_name, *args, **kwargs)

    Session.create_client = create_client


def _keep_segfaults_fatal() -> None:
    """Airflow's importer installs a Python SIGSEGV handler, but a Python handler never runs for a fault in C code
    (the faulting instruction re-executes forever): the parse would spin until the worker times out. Keep the
    default action instead, so the worker dies at once and faulthandler prints where; and write no core file."""
    faulthandler.enable()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    install = signal.signal

    def signal_except_segv(signum, handler):
        return signal.getsignal(signum) if signum == signal.SIGSEGV else install(signum, handler)

    signal.signal = signal_except_segv


def _dag_facts(dag, explicit: dict[int, list[str]]) -> dict:
    default_args = dict(dag.default_args or {})
    return {
        "dag_id": dag.dag_id,
        "tags": sorted(dag.tags or []),
        "owner": default_args.get("owner"),
        "retries": default_args.get("retries"),
        "retry_delay": "retry_delay" in default_args,
        "low_retry_tasks": sorted(t.task_id for t in dag.tasks if (t.retries or 0) < 2),
        "catchup": bool(dag.catchup),
        "description": bool((dag.description or "").strip() or (dag.doc_md or "").strip()),
        "explicit": explicit.get(id(dag)),
        "tasks": len(dag.tasks),
    }


def parse(file: str, dags_folder: str, user_roots: list[str]) -> dict:
    recorder = Recorder(user_roots)
    sys.addaudithook(recorder.audit)
    sys.meta_path.insert(0, HeavyImportFinder(recorder))
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "client"  # what the real parse subprocess declares

    import importlib

    for module in BASELINE:
        importlib.import_module(module)
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.sdk.execution_time import task_runner
    from airflow.serialization.serialized_objects import DagSerialization

    task_runner.SUPERVISOR_COMMS = RecordingComms(recorder)
    _record_dag_inits(recorder)
    _block_orm(recorder)
    _record_aws_clients(recorder)
    baseline_heavy = sorted(m for m in HEAVY if m in sys.modules)
    before = set(sys.modules)

    recorder.armed = True
    started = time.perf_counter()
    bag = BundleDagBag(
        dag_folder=file, bundle_path=dags_folder, bundle_name="dags-folder", load_op_links=False, safe_mode=False
    )
    parse_seconds = time.perf_counter() - started
    serialization_errors = {}
    for dag in bag.dags.values():  # the dag-processor serializes every DAG: one that fails never reaches the scheduler
        try:
            DagSerialization.to_dict(dag)
        except Exception as error:
            cause = error.__cause__ or error
            serialization_errors[dag.dag_id] = {"error": f"{type(cause).__name__}: {cause}",
                                                "traceback": traceback.format_exc(limit=-5)}
    recorder.armed = False
    imported = {name.partition(".")[0] for name in set(sys.modules) - before}
    heavy = {m: recorder.heavy.get(m, "?") for m in HEAVY if m in imported}

    explicit = {init["id"]: init["explicit"] for init in recorder.dag_inits}
    return {
        "file": file,
        "parse_seconds": parse_seconds,
        "import_errors": dict(bag.import_errors),
        "serialization_errors": serialization_errors,
        "dags": [_dag_facts(dag, explicit) for dag in bag.dags.values()],
        "constructed_dag_ids": [init["dag_id"] for init in recorder.dag_inits],
        "network": recorder.network,
        "database": recorder.database,
        "heavy": heavy,
        "aws_clients": recorder.aws_clients,
        "processes": recorder.processes,
        "baseline_heavy": baseline_heavy,
    }


def list_files(dags_folder: str) -> list[str]:
    """Every file the DagBag would consider, honouring .airflowignore (safe mode off: every .py must import)."""
    from airflow.dag_processing.importers import get_importer_registry

    return sorted(get_importer_registry().list_dag_files(dags_folder, safe_mode=False))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dags-folder", required=True)
    parser.add_argument("--result", required=True, help="where to write the JSON result")
    parser.add_argument("--user-code", action="append", default=[], help="folders whose frames name a culprit")
    parser.add_argument("--list", action="store_true", help="only list the DAG files of the folder")
    parser.add_argument("--preimport", action="append", default=[], help="extra modules loaded before the file")
    parser.add_argument("file", nargs="?")
    args = parser.parse_args()
    _keep_segfaults_fatal()
    for module in args.preimport:
        __import__(module)
    result = list_files(args.dags_folder) if args.list else parse(args.file, args.dags_folder, args.user_code)
    with open(args.result, "w") as out:
        json.dump(result, out, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
