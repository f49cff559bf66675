"""What must pass before a tree is deployed: DAG integrity (tests/dags' harness), requirements.txt under MWAA's
pins (test-requirements), plugins.zip built and importable from the zip alone (package).

A tree that passed is remembered by its content hash (tree.fingerprint), so re-deploying an unchanged tree does
not parse every DAG again; any change to a file, a rule or a pin means a full validation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mwaa_local import paths
from mwaa_local.deploy.tree import Tree


@dataclass
class Validation:
    fingerprint: str
    cached: bool
    problems: list[str] = field(default_factory=list)  # one line each: "dags: retail_etl.py: ..."
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def cache_dir() -> Path:
    return paths.local_state() / "deploy" / "validated"


def plugins_zip() -> Path:
    """Where deploy builds plugins.zip (reproducible: the same plugins/ gives the same bytes)."""
    return paths.local_state() / "deploy" / "plugins.zip"


@contextmanager
def _environ(**values: str):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _integrity(tree: Tree) -> list[str]:
    from mwaa_local import dag_integrity

    report = dag_integrity.check_folder(tree.dags)
    return [f"dags/{v.file}: [{v.rule}] {v.message}" for v in report.violations]


def _requirements(tree: Tree) -> list[str]:
    from mwaa_local import requirements_check

    result = requirements_check.check(tree.requirements)
    return [f"requirements.txt: {p}" for p in result.problems] + \
        [f"requirements.txt: conflict: {c}" for c in result.conflicts]


def _package(tree: Tree) -> list[str]:
    from mwaa_local import packaging

    zip_path = packaging.build(tree.plugins, plugins_zip())
    # On MWAA, include/ sits in the DAG folder; the import check finds it the same way.
    with _environ(MWAA_INCLUDE_DIR=str(tree.include)):
        failures = packaging.verify_imports(zip_path)
    return [f"plugins.zip: {failure}" for failure in failures]


STEPS: list[tuple[str, Callable[[Tree], list[str]]]] = [
    ("DAG integrity", _integrity), ("test-requirements", _requirements), ("package", _package)]


def validate(tree: Tree, say: Callable[[str], None] = print, use_cache: bool = True) -> Validation:
    started = time.monotonic()
    fingerprint = tree.fingerprint()
    marker = cache_dir() / fingerprint
    if use_cache and marker.is_file():
        from mwaa_local import packaging

        packaging.build(tree.plugins, plugins_zip())  # the zip to upload; cheap, and byte-identical
        return Validation(fingerprint, True, seconds=time.monotonic() - started)
    result = Validation(fingerprint, False)
    for name, step in STEPS:
        step_started = time.monotonic()
        problems = step(tree)
        say(f"  {name}: {'ok' if not problems else f'{len(problems)} problem(s)'} "
            f"({time.monotonic() - step_started:.1f} s)")
        result.problems += problems
    result.seconds = time.monotonic() - started
    if result.ok:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"validated {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
    return result
