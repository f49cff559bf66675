"""When is the local environment ready: the UI answers and every DAG file has been parsed (into DAGs or an import
error). The DAG files are those Airflow's safe mode would parse: .py files mentioning both "airflow" and "dag",
minus what dags/.airflowignore (glob syntax, Airflow 3's default) leaves out."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from mwaa_local.runtime.api_client import ApiClient


def _ignored(relative: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        stem = pattern.rstrip("/")
        if relative == stem or relative.startswith(stem + "/") or fnmatch.fnmatch(relative, pattern) \
                or f"/{stem}/" in f"/{relative}":
            return True
    return False


def dag_files(dags_dir: Path) -> set[str]:
    ignore = dags_dir / ".airflowignore"
    patterns = [line.split("#", 1)[0].strip() for line in ignore.read_text().splitlines()] if ignore.exists() else []
    patterns = [p for p in patterns if p]
    found = set()
    for path in dags_dir.rglob("*.py"):
        relative = path.relative_to(dags_dir).as_posix()
        if _ignored(relative, patterns):
            continue
        text = path.read_bytes().lower()
        if b"airflow" in text and b"dag" in text:
            found.add(relative)
    return found


@dataclass
class ParseState:
    expected: set[str]
    dags: dict[str, str] = field(default_factory=dict)  # dag_id -> relative file
    import_errors: dict[str, str] = field(default_factory=dict)  # relative file -> error

    @property
    def pending(self) -> set[str]:
        return self.expected - set(self.dags.values()) - set(self.import_errors)


def _relative(filename: str, dags_dir: Path) -> str:
    path = Path(filename)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(dags_dir.resolve()).as_posix()
        except ValueError:
            return filename
    return path.as_posix()


def parse_state(client: ApiClient, dags_dir: Path) -> ParseState:
    state = ParseState(dag_files(dags_dir))
    for dag in client.all_pages("/api/v2/dags", "dags"):
        state.dags[dag["dag_id"]] = _relative(dag.get("relative_fileloc") or dag.get("fileloc") or "", dags_dir)
    for error in client.all_pages("/api/v2/importErrors", "import_errors"):
        state.import_errors[_relative(error["filename"], dags_dir)] = error.get("stack_trace", "").strip()
    return state
