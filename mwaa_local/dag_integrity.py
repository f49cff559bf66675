"""DAG integrity: parses every DAG file in its own fresh interpreter (see dag_parse_worker) and checks the rules
every DAG in this repository must follow. Each violation names the file and the rule.

Used by tests/dags/ and reusable by any command that wants to vet a DAGs folder before it ships.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
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
# Nothing listens on port 1: whatever would reach the metadata DB fails at once instead of hanging.
UNREACHABLE_DB = "postgresql+psycopg2://airflow@127.0.0.1:1/metadata-db-unreachable-at-parse-time"

# Rule names (what a violation is filed under).
IMPORT = "import-errors"
CYCLE = "no-cycles"
NETWORK = "no-network-at-parse"
DATABASE = "no-database-at-parse"
HEAVY = "no-heavy-imports"
AWS_CLIENTS = "no-aws-clients-at-parse"
BASELINE = "heavy-import-check-not-blind"
UNIQUE = "unique-dag-id"
TAGS = "tags"
OWNER = "owner"
RETRIES = "retries"
CATCHUP = "catchup"
DESCRIPTION = "description"
SCHEDULE = "explicit-schedule"
WORKER_FAILED = "parser-crashed"
DAG_RULES = (TAGS, OWNER, RETRIES, CATCHUP, DESCRIPTION, SCHEDULE)


@dataclass(frozen=True)
class Violation:
    file: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: [{self.rule}] {self.message}"


@dataclass
class FileResult:
    file: str  # relative to the DAGs folder
    parse_seconds: float | None = None
    dags: list[dict] = field(default_factory=list)
    raw: dict = field(default_factory=dict)


@dataclass
class Report:
    folder: Path
    files: list[FileResult]
    violations: list[Violation]

    def __repr__(self) -> str:  # pytest prints fixtures on failure: keep it to one line
        return f"Report({self.folder.name}/: {len(self.files)} file(s), {len(self.violations)} violation(s))"

    def by_rule(self, rule: str) -> list[Violation]:
        return [v for v in self.violations if v.rule == rule]

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


def _run_worker(dags_folder: Path, args: list[str], preimport: tuple[str, ...] = ()) -> tuple[object, str]:
    """Runs the worker in a fresh, isolated interpreter; returns (parsed JSON or None, its output for errors)."""
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, "-I", str(WORKER), "--dags-folder", str(dags_folder), "--result", str(result),
               "--user-code", str(dags_folder), "--user-code", str(paths.PLUGINS)]
        cmd += [f"--preimport={m}" for m in preimport] + args
        try:
            proc = subprocess.run(cmd, env=worker_env(dags_folder), capture_output=True, text=True,
                                  timeout=WORKER_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, f"no result after {WORKER_TIMEOUT} s"
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0 or not result.exists():
            return None, f"exit code {proc.returncode}: {output[-2000:]}"
        return json.loads(result.read_text()), output


def list_dag_files(dags_folder: Path) -> list[Path]:
    """Files Airflow would parse in this folder, honouring its .airflowignore."""
    listed, output = _run_worker(dags_folder, ["--list"])
    if listed is None:
        raise RuntimeError(f"could not list the DAG files of {dags_folder}: {output}")
    return [Path(p) for p in listed]


def parse_one(dags_folder: Path, file: Path, preimport: tuple[str, ...] = ()) -> dict:
    """The worker's raw findings for one file (what check_folder turns into violations)."""
    raw, output = _run_worker(Path(dags_folder).resolve(), [str(Path(file).resolve())], preimport)
    if raw is None:
        raise RuntimeError(f"parsing {file} failed: {output}")
    return raw


def check_folder(dags_folder: Path = paths.DAGS, catchup_allowlist: frozenset[str] | None = None,
                 preimport: tuple[str, ...] = ()) -> Report:
    """Parses each file of the folder (PARALLEL at a time) and applies every rule.

    preimport: modules loaded before the baseline, only to prove the heavy-import check notices when it is blind.
    """
    dags_folder = Path(dags_folder).resolve()
    allowlist = load_catchup_allowlist() if catchup_allowlist is None else catchup_allowlist
    files = list_dag_files(dags_folder)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        outcomes = list(pool.map(lambda f: _run_worker(dags_folder, [str(f)], preimport), files))

    results, violations = [], []
    for path, (raw, output) in zip(files, outcomes, strict=True):
        rel = path.relative_to(dags_folder).as_posix()
        if raw is None:
            results.append(FileResult(rel))
            violations.append(Violation(rel, WORKER_FAILED, output))
            continue
        results.append(FileResult(rel, raw["parse_seconds"], raw["dags"], raw))
        violations += file_violations(rel, raw, allowlist)
    violations += duplicate_id_violations(results)
    violations += baseline_violations(results)
    return Report(dags_folder, results, violations)


def file_violations(rel: str, raw: dict, allowlist: frozenset[str]) -> list[Violation]:
    found = []
    for error in raw["import_errors"].values():
        rule = CYCLE if "AirflowDagCycleException" in error else IMPORT
        found.append(Violation(rel, rule, _excerpt(error)))
    found += [Violation(rel, NETWORK, _short(f"network call while parsing: {n}")) for n in raw["network"]]
    found += [Violation(rel, DATABASE, _short(f"metadata database access while parsing: {d}")) for d in raw["database"]]
    found += [Violation(rel, AWS_CLIENTS, _short(f"creates an AWS {c} while parsing; create it inside the task"))
              for c in raw.get("aws_clients", [])]
    found += [
        Violation(rel, HEAVY, _short(f"imports {module} at parse time ({where}); import it inside the task instead"))
        for module, where in sorted(raw["heavy"].items())
    ]
    for dag in raw["dags"]:
        found += [Violation(rel, rule, f"DAG {dag['dag_id']!r}: {msg}") for rule, msg in dag_problems(dag, allowlist)]
    return found


def dag_problems(dag: dict, allowlist: frozenset[str]) -> list[tuple[str, str]]:
    """The per-DAG rules, from the facts the worker gathered."""
    problems = []
    if not dag["tags"]:
        problems.append((TAGS, "has no tags"))
    if not dag["owner"] or dag["owner"] == DEFAULT_OWNER:
        problems.append((OWNER, f"default_args owner is {dag['owner']!r}; name the owning team"))
    if not isinstance(dag["retries"], int) or dag["retries"] < 2:
        problems.append((RETRIES, f"default_args retries is {dag['retries']!r}; need >= 2"))
    if not dag["retry_delay"]:
        problems.append((RETRIES, "default_args has no retry_delay"))
    if dag["low_retry_tasks"] and isinstance(dag["retries"], int) and dag["retries"] >= 2:
        problems.append((RETRIES, f"tasks with retries < 2: {', '.join(dag['low_retry_tasks'])}"))
    if dag["catchup"] and dag["dag_id"] not in allowlist:
        problems.append((CATCHUP, f"catchup=True but not in {CATCHUP_ALLOWLIST_FILE.name}"))
    if not dag["description"]:
        problems.append((DESCRIPTION, "has neither description nor doc_md"))
    if dag["explicit"] is not None and "schedule" not in dag["explicit"]:
        problems.append((SCHEDULE, "schedule is left to the default; state it (schedule=None if manual only)"))
    return problems


def duplicate_id_violations(results: list[FileResult]) -> list[Violation]:
    """A dag_id declared twice: across files Airflow reports one of them; within a file it silently keeps the last."""
    files_by_id: dict[str, list[str]] = defaultdict(list)
    for result in results:
        for dag_id in result.raw.get("constructed_dag_ids", []):
            files_by_id[dag_id].append(result.file)
    found = []
    for dag_id, files in sorted(files_by_id.items()):
        if len(files) > 1:
            found += [Violation(f, UNIQUE, f"dag_id {dag_id!r} is also declared in: "
                                            f"{', '.join(sorted(set(files) - {f}) or [f + ' (twice)'])}")
                      for f in sorted(set(files))]
    return found


def baseline_violations(results: list[FileResult]) -> list[Violation]:
    """If Airflow itself already loaded a heavy package, the per-file heavy-import check could never fire."""
    blind = sorted({m for r in results for m in r.raw.get("baseline_heavy", [])})
    if not blind:
        return []
    return [Violation("<airflow baseline>", BASELINE,
                      f"{', '.join(blind)} already imported before any DAG file; the heavy-import check is blind")]


def _excerpt(text: str, count: int = 6) -> str:
    """The end of a traceback, without importlib's frozen frames, which say nothing about the user's file."""
    lines = [line for line in text.strip().splitlines() if "<frozen " not in line]
    return _short("\n".join(lines[-count:]))


def _short(text: str) -> str:
    """Paths relative to the repository / site-packages: messages stay readable."""
    text = text.replace(str(paths.ROOT) + os.sep, "")
    return re.sub(r"\S*/site-packages/", "site-packages/", text)
