"""DAG integrity for deploy, incremental: each file's parse result (the parse worker's findings) is kept by the
hash of its content and of what every parse reads (include/, plugins/, the validators), so a one-DAG change parses
one file; the rules of dag_integrity (including the folder rules, e.g. unique DAG ids) are applied to all files
every time, exactly as check_folder applies them.

The list of files Airflow would parse is kept too, by the set of file names and .airflowignore: a changed file
is re-checked with Airflow's own heuristic (a DAG file mentions both "dag" and "airflow"), and any doubt means
listing the folder again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mwaa_local import bucket_sync
from mwaa_local.deploy.tree import Tree


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    tmp.replace(path)


def _might_contain_dag(path: Path) -> bool:
    content = path.read_bytes().lower()
    return b"dag" in content and b"airflow" in content


def _listing(tree: Tree, folder: Path, cache: Path) -> list[str]:
    from mwaa_local import dag_integrity

    names = sorted(bucket_sync.tree_files(folder, ""))
    ignore = folder / ".airflowignore"
    key = _sha(json.dumps([names, _sha(ignore.read_bytes()) if ignore.is_file() else ""]).encode()
               + tree.fingerprint("plugins").encode())
    kept = _read(cache / f"listing-{key}.json")
    if kept is not None and all(_might_contain_dag(folder / rel) for rel in kept["files"]):
        return kept["files"]
    files = sorted(p.relative_to(folder).as_posix() for p in dag_integrity.list_dag_files(folder))
    _write(cache / f"listing-{key}.json", {"files": files})
    return files


def check(tree: Tree, cache: Path):
    """A dag_integrity.Report for the tree's dags/, parsing only the files whose results are not cached."""
    from mwaa_local import dag_integrity

    folder = tree.dags.resolve()
    context = tree.fingerprint("include", "plugins")
    listed = _listing(tree, folder, cache)
    results, to_parse, keys = {}, [], {}
    for rel in listed:
        keys[rel] = _sha(context.encode() + rel.encode() + b"\0" + (folder / rel).read_bytes())
        raw = _read(cache / f"parsed-{keys[rel]}.json")
        if raw is None:
            to_parse.append(rel)
        else:
            results[rel] = dag_integrity.FileResult(rel, raw["parse_seconds"], raw["dags"], raw)
    if to_parse:
        for fresh in dag_integrity.check_folder(folder, files=to_parse).files:
            results[fresh.file] = fresh
            if fresh.crash is None:
                _write(cache / f"parsed-{keys[fresh.file]}.json", fresh.raw)
    files = [results[rel] for rel in listed]
    findings = dag_integrity.Findings(folder, files, dag_integrity.load_catchup_allowlist())
    return dag_integrity.Report(folder, files, dag_integrity.apply_rules(findings)), len(to_parse)
