"""DAG integrity: parses every DAG file in its own fresh interpreter (see dag_parse_worker) and checks the rules
every DAG in this repository must follow. Each violation names the file, the rule and what to do.

The rules live in one registry, RULES (name -> Rule), applied in order by apply_rules(): a check that is not in the
registry does not run. tests/dags/ removes each rule in turn and shows the harness then fails (the mutation check),
so a new rule registered here is covered by that check automatically.

Used by tests/dags/ and reusable by any command that wants to vet a DAGs folder before it ships.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mwaa_local import paths

WORKER = Path(__file__).with_name("dag_parse_worker.py")
PARALLEL = 2  # the machine has 2 cores; each worker is a full Airflow import
WORKER_TIMEOUT = 180  # Airflow's own dagbag_import_timeout (30 s) fires first inside the worker
CATCHUP_ALLOWLIST_FILE = paths.TESTS / "dags" / "catchup_allowlist.txt"
# Airflow's default when no owner is given: it tells the on-call nobody.
DEFAULT_OWNER = "airflow"
MIN_RETRIES = 2
# Nothing listens on port 1: whatever would reach the metadata DB fails at once instead of hanging.
UNREACHABLE_DB = "postgresql+psycopg2://airflow@127.0.0.1:1/metadata-db-unreachable-at-parse-time"
# Where violations that belong to no single file are filed.
FOLDER = "<dags folder>"
AIRFLOW_BASELINE = "<airflow baseline>"
STDLIB = sysconfig.get_paths()["stdlib"]

# Rule names (what a violation is filed under).
WORKER_FAILED = "parser-crashed"
IMPORT = "import-errors"
CYCLE = "no-cycles"
SERIALIZABLE = "serializable"
DEFINES_DAG = "defines-a-dag"
NETWORK = "no-network-at-parse"
DATABASE = "no-database-at-parse"
AWS_CLIENTS = "no-aws-clients-at-parse"
PROCESSES = "no-processes-at-parse"
HEAVY = "no-heavy-imports"
BASELINE = "heavy-import-check-not-blind"
UNIQUE = "unique-dag-id"
NOT_EMPTY = "dags-folder-not-empty"
TAGS = "tags"
OWNER = "owner"
RETRIES = "retries"
RETRY_DELAY = "retry-delay"
TASK_RETRIES = "task-retries"
CATCHUP = "catchup"
DESCRIPTION = "description"
SCHEDULE = "explicit-schedule"


@dataclass(frozen=True)
class Violation:
    file: str
    rule: str
    message: str
    detail: str = field(default="", compare=False)  # e.g. a traceback: printed, never part of equality

    def __str__(self) -> str:
        text = f"{self.file}: [{self.rule}] {self.message}"
        return text + "".join(f"\n    {line}" for line in self.detail.splitlines())


@dataclass
class WorkerRun:
    """One run of the parse worker: its JSON result, or why there is none."""

    result: object = None
    output: str = ""
    exit_code: int | None = None
    timed_out: bool = False


@dataclass
class FileResult:
    file: str  # relative to the DAGs folder
    parse_seconds: float | None = None
    dags: list[dict] = field(default_factory=list)
    raw: dict = field(default_factory=dict)  # the worker's findings; empty when it crashed
    crash: WorkerRun | None = None


@dataclass
class Findings:
    """What the rules look at: every file's parse result, and the settings the rules need."""

    folder: Path
    files: list[FileResult]
    catchup_allowlist: frozenset[str] = frozenset()

    def parsed(self) -> list[FileResult]:
        return [f for f in self.files if f.crash is None]


@dataclass(frozen=True)
class Rule:
    name: str
    guards: str  # what goes wrong on MWAA when a DAG file breaks it
    check: Callable[[Findings], list[Violation]]


RULES: dict[str, Rule] = {}


@dataclass
class Report:
    folder: Path
    files: list[FileResult]
    violations: list[Violation]

    def __repr__(self) -> str:  # pytest prints fixtures on failure: keep it to one line
        return f"Report({self.folder.name}/: {len(self.files)} file(s), {len(self.violations)} violation(s))"

    def by_rule(self, rule: str) -> list[Violation]:
        return [v for v in self.violations if v.rule == rule]

    def by_file(self, file: str) -> list[Violation]:
        return [v for v in self.violations if v.file == file]

    def timing_table(self) -> str:
        rows = [(f.file, f"{f.parse_seconds * 1000:.0f}" if f.parse_seconds is not None else "-",
                 str(len(f.dags)), str(sum(d["tasks"] for d in f.dags))) for f in self.files]
        header = ("file", "parse ms", "dags", "tasks")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in [header, *rows]]
        total = sum(f.parse_seconds or 0 for f in self.files)
        return "\n".join([*lines, f"total {total * 1000:.0f} ms over {len(self.files)} file(s) (one fresh interpreter each)"])


def load_catchup_allowlist(path: Path = CATCHUP_ALLOWLIST_FILE) -> frozenset[str]:
    """DAG ids allowed catchup=True: one per line, '#' starts a comment (say why each one needs it)."""
    if not path.exists():
        return frozenset()
    return frozenset(line.split("#", 1)[0].strip() for line in path.read_text().splitlines()) - {""}


# ---------------------------------------------------------------------------------------------------------------
# Running the worker


def worker_env(dags_folder: Path) -> dict[str, str]:
    """The parse environment: MWAA-like folders, no examples, and a metadata DB nobody can reach."""
    home = paths.local_state() / "dag-integrity" / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": UNREACHABLE_DB,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def _run_worker(dags_folder: Path, args: list[str], preimport: tuple[str, ...] = ()) -> WorkerRun:
    """Runs the worker in a fresh, isolated interpreter in its own process group: DAG code is user code, so
    whatever it started is killed with the worker, on a timeout and after a normal exit alike. Output goes to a
    file, not a pipe: a process the DAG code left behind would hold a pipe open and stall the read."""
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        result, log = Path(tmp) / "result.json", Path(tmp) / "output.log"
        cmd = [sys.executable, "-I", str(WORKER), "--dags-folder", str(dags_folder), "--result", str(result),
               "--user-code", str(dags_folder), "--user-code", str(paths.PLUGINS)]
        cmd += [f"--preimport={m}" for m in preimport] + args
        with open(log, "w") as output:
            proc = subprocess.Popen(cmd, env=worker_env(dags_folder), stdout=output, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc.pid)
            proc.wait()
        text = log.read_text(errors="replace").strip()
        if timed_out or proc.returncode != 0 or not result.exists():
            return WorkerRun(output=text, exit_code=proc.returncode, timed_out=timed_out)
        return WorkerRun(json.loads(result.read_text()), text, 0)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def list_dag_files(dags_folder: Path) -> list[Path]:
    """Files Airflow would parse in this folder, honouring its .airflowignore."""
    run = _run_worker(dags_folder, ["--list"])
    if run.result is None:
        raise RuntimeError(f"could not list the DAG files of {dags_folder}: {_crash_message(run)}\n{run.output[-2000:]}")
    return [Path(p) for p in run.result]


def check_folder(dags_folder: Path = paths.DAGS, catchup_allowlist: frozenset[str] | None = None,
                 preimport: tuple[str, ...] = (), files: list[str] | None = None) -> Report:
    """Parses each file of the folder (PARALLEL at a time) and applies every rule in RULES.

    files: parse only these (relative to the folder) instead of listing it.
    preimport: modules loaded before the baseline, only to prove the heavy-import check notices when it is blind.
    """
    dags_folder = Path(dags_folder).resolve()
    allowlist = load_catchup_allowlist() if catchup_allowlist is None else catchup_allowlist
    listed = list_dag_files(dags_folder) if files is None else [dags_folder / f for f in files]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        runs = list(pool.map(lambda f: _run_worker(dags_folder, [str(f)], preimport), listed))

    results = []
    for path, run in zip(listed, runs, strict=True):
        rel = path.relative_to(dags_folder).as_posix()
        if run.result is None:
            results.append(FileResult(rel, crash=run))
        else:
            results.append(FileResult(rel, run.result["parse_seconds"], run.result["dags"], run.result))
    return Report(dags_folder, results, apply_rules(Findings(dags_folder, results, allowlist)))


def apply_rules(findings: Findings) -> list[Violation]:
    return [v for rule in list(RULES.values()) for v in rule.check(findings)]


# ---------------------------------------------------------------------------------------------------------------
# The rules, in the order they are reported. A per-file rule returns (message, detail) pairs or messages for one
# parsed file; a per-DAG rule returns a message (or None) for one DAG's facts; a folder rule sees everything.


def folder_rule(name: str, guards: str):
    def register(check: Callable[[Findings], list[Violation]]):
        RULES[name] = Rule(name, guards, check)
        return check
    return register


def file_rule(name: str, guards: str):
    def register(check: Callable[[FileResult], list]):
        def run(findings: Findings) -> list[Violation]:
            found = []
            for result in findings.parsed():
                for item in check(result):
                    message, detail = item if isinstance(item, tuple) else (item, "")
                    found.append(Violation(result.file, name, message, detail))
            return found
        RULES[name] = Rule(name, guards, run)
        return check
    return register


def dag_rule(name: str, guards: str):
    def register(check: Callable[[dict, Findings], str | None]):
        def run(findings: Findings) -> list[Violation]:
            return [Violation(result.file, name, f"DAG {dag['dag_id']!r} {message}")
                    for result in findings.parsed() for dag in result.dags
                    if (message := check(dag, findings)) is not None]
        RULES[name] = Rule(name, guards, run)
        return check
    return register


@folder_rule(WORKER_FAILED, "a file that kills the dag-processor's parse process never shows an import error")
def _parser_crashed(findings: Findings) -> list[Violation]:
    return [Violation(f.file, WORKER_FAILED, _crash_message(f.crash, findings.folder), _tail(f.crash.output))
            for f in findings.files if f.crash is not None]


@file_rule(IMPORT, "a file that does not import has no DAG on MWAA")
def _import_errors(result: FileResult) -> list:
    return [(f"does not import: {_import_error_summary(error)}", _excerpt(error))
            for error in result.raw["import_errors"].values() if not _is_cycle(error)]


@file_rule(CYCLE, "a DAG with a cycle is rejected by the dag-processor")
def _cycles(result: FileResult) -> list:
    return [_last_line(error) for error in result.raw["import_errors"].values() if _is_cycle(error)]


@file_rule(SERIALIZABLE, "a DAG that does not serialize never reaches the scheduler or the UI")
def _serialization(result: FileResult) -> list:
    return [(f"DAG {dag_id!r} does not serialize, so the scheduler would never see it: "
             f"{_strip_module_prefix(error['error'])}", _excerpt(error["traceback"]))
            for dag_id, error in sorted(result.raw.get("serialization_errors", {}).items())]


@file_rule(DEFINES_DAG, "a helper module in dags/ is parsed every 30 s for nothing")
def _defines_a_dag(result: FileResult) -> list:
    if result.dags or result.raw["import_errors"]:
        return []
    return ["defines no DAG: keep only DAG files in the DAGs folder (helpers belong in plugins/, "
            "or list the file in .airflowignore)"]


@file_rule(NETWORK, "a network call at parse time runs on every parse, every 30 s, and can hang the processor")
def _network(result: FileResult) -> list:
    return [_short(f"network call while parsing: {n}") for n in result.raw["network"]]


@file_rule(DATABASE, "a Variable or ORM access at parse time hits the metadata database on every parse")
def _database(result: FileResult) -> list:
    return [_short(f"metadata database access while parsing: {d}") for d in result.raw["database"]]


@file_rule(AWS_CLIENTS, "an AWS client at parse time looks up credentials and endpoints on every parse")
def _aws_clients(result: FileResult) -> list:
    return [_short(f"creates an AWS {c} while parsing; create it inside the task")
            for c in result.raw.get("aws_clients", [])]


@file_rule(PROCESSES, "a command run at parse time runs on every parse, every 30 s, on every scheduler host")
def _processes(result: FileResult) -> list:
    return [_short(f"starts a process while parsing: {p}; run it inside a task")
            for p in result.raw.get("processes", [])]


@file_rule(HEAVY, "a heavy import at parse time slows every parse of every file")
def _heavy(result: FileResult) -> list:
    return [_short(f"imports {module} at parse time ({where}); import it inside the task instead")
            for module, where in sorted(result.raw["heavy"].items())]


@folder_rule(BASELINE, "if Airflow itself already loaded a heavy package, the heavy-import check could never fire")
def _baseline(findings: Findings) -> list[Violation]:
    blind = sorted({m for r in findings.parsed() for m in r.raw.get("baseline_heavy", [])})
    if not blind:
        return []
    return [Violation(AIRFLOW_BASELINE, BASELINE,
                      f"{', '.join(blind)} already imported before any DAG file; the heavy-import check is blind")]


@folder_rule(UNIQUE, "two DAGs with one id: across files Airflow reports one; within a file it keeps the last")
def _unique_ids(findings: Findings) -> list[Violation]:
    files_by_id: dict[str, Counter] = defaultdict(Counter)
    for result in findings.parsed():
        for dag_id in result.raw.get("constructed_dag_ids", []):
            files_by_id[dag_id][result.file] += 1
    found = []
    for dag_id, counts in sorted(files_by_id.items()):
        for file, count in sorted(counts.items()):
            if count > 1:
                found.append(Violation(file, UNIQUE, f"dag_id {dag_id!r} is declared {count} times in this file; "
                                                     "Airflow silently keeps only the last one"))
            if len(counts) > 1:
                found.append(Violation(file, UNIQUE, f"dag_id {dag_id!r} is also declared in: "
                                                     f"{', '.join(sorted(set(counts) - {file}))}"))
    return found


@folder_rule(NOT_EMPTY, "an empty DAGs folder deploys nothing, and every other check would pass vacuously")
def _not_empty(findings: Findings) -> list[Violation]:
    if findings.files:
        return []
    return [Violation(FOLDER, NOT_EMPTY, f"no DAG files in {findings.folder.name}/: nothing would be deployed")]


@dag_rule(TAGS, "untagged DAGs cannot be filtered in the UI")
def _tags(dag: dict, findings: Findings) -> str | None:
    return None if dag["tags"] else "has no tags"


@dag_rule(OWNER, "the on-call must know which team owns a failing DAG")
def _owner(dag: dict, findings: Findings) -> str | None:
    if dag["owner"] and dag["owner"] != DEFAULT_OWNER:
        return None
    return f"default_args owner is {dag['owner']!r}; name the owning team"


@dag_rule(RETRIES, "a transient failure must not fail the run")
def _retries(dag: dict, findings: Findings) -> str | None:
    if isinstance(dag["retries"], int) and dag["retries"] >= MIN_RETRIES:
        return None
    return f"default_args retries is {dag['retries']!r}; need >= {MIN_RETRIES}"


@dag_rule(RETRY_DELAY, "retries without a delay all hit the same outage")
def _retry_delay(dag: dict, findings: Findings) -> str | None:
    return None if dag["retry_delay"] else "default_args has no retry_delay"


@dag_rule(TASK_RETRIES, "a task that overrides retries below the minimum undoes the DAG's default")
def _task_retries(dag: dict, findings: Findings) -> str | None:
    # Only when the DAG's default is fine: with a low default every task inherits it, which RETRIES reports.
    if not dag["low_retry_tasks"] or not isinstance(dag["retries"], int) or dag["retries"] < MIN_RETRIES:
        return None
    return f"has tasks with retries < {MIN_RETRIES}: {', '.join(dag['low_retry_tasks'])}"


@dag_rule(CATCHUP, "an unpaused DAG with catchup launches one run per missed interval")
def _catchup(dag: dict, findings: Findings) -> str | None:
    if not dag["catchup"] or dag["dag_id"] in findings.catchup_allowlist:
        return None
    return f"has catchup=True but is not in {CATCHUP_ALLOWLIST_FILE.name}"


@dag_rule(DESCRIPTION, "the UI and the on-call need to know what a DAG is for")
def _description(dag: dict, findings: Findings) -> str | None:
    return None if dag["description"] else "has neither description nor doc_md"


@dag_rule(SCHEDULE, "a schedule left to the default changes meaning across Airflow versions")
def _schedule(dag: dict, findings: Findings) -> str | None:
    if dag["explicit"] is None or "schedule" in dag["explicit"]:
        return None
    return "leaves schedule to the default; state it (schedule=None if manual only)"


# ---------------------------------------------------------------------------------------------------------------
# Messages


def _crash_message(run: WorkerRun, folder: Path | None = None) -> str:
    if run.timed_out:
        return f"the parse process did not finish within {WORKER_TIMEOUT} s and was killed"
    where = _fatal_location(run.output, folder)
    where = f" at {where}" if where else ""
    if run.exit_code is not None and run.exit_code < 0:
        try:
            name = signal.Signals(-run.exit_code).name
        except ValueError:
            name = f"signal {-run.exit_code}"
        return f"the parse process was killed by {name}{where} while importing the file"
    if run.exit_code == 0:
        return "the parse process exited without writing its result"
    return f"the parse process exited with code {run.exit_code}{where} before writing its result"


def _fatal_location(output: str, folder: Path | None) -> str | None:
    """The innermost frame in the DAGs folder of the stack faulthandler printed for a fatal signal."""
    if folder is None:
        return None
    frames = re.findall(r'File "([^"]+)", line (\d+)', output.partition("Fatal Python error")[2])
    prefix = os.path.join(str(folder), "")
    # faulthandler prints the innermost frame first
    return next((f"{_short(path)}:{line}" for path, line in frames if path.startswith(prefix)), None)


def _is_cycle(error: str) -> bool:
    return "AirflowDagCycleException" in error


def _import_error_summary(error: str) -> str:
    """The exception line, and the innermost line of user code it points at when the traceback names one."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', error)
    user = [f"{_short(path)}:{line}" for path, line in frames if "site-packages" not in path and "<frozen" not in path]
    return _last_line(error) + (f" (at {user[-1]})" if user else "")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _short(lines[-1].strip()) if lines else ""


def _strip_module_prefix(text: str) -> str:
    """Airflow names a DAG file's module 'unusual_prefix_<hash of the path>_<file>': keep only '<file>'."""
    return re.sub(r"unusual_prefix_[0-9a-f]+_", "", text)


def _excerpt(text: str, count: int = 6) -> str:
    """The end of a traceback, without importlib's frozen frames, which say nothing about the user's file."""
    lines = [line for line in text.strip().splitlines() if "<frozen " not in line]
    return _short("\n".join(lines[-count:]))


def _tail(output: str, count: int = 20) -> str:
    """What the worker printed last; from faulthandler's report on when there is one (it names the file's line)."""
    fatal = output.find("Fatal Python error")
    lines = (output[fatal:] if fatal >= 0 else output).splitlines()
    return _short("\n".join(lines[:count] if fatal >= 0 else lines[-count:]))


def _short(text: str) -> str:
    """Paths relative to the repository / site-packages / the standard library: messages stay readable."""
    text = text.replace(str(paths.ROOT) + os.sep, "")
    text = re.sub(r"\S*/site-packages/", "site-packages/", text)
    return text.replace(STDLIB + os.sep, "stdlib/")
