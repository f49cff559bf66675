"""What must pass before a tree is deployed: DAG integrity (tests/dags' harness), requirements.txt under MWAA's
pins (test-requirements), plugins.zip built and importable from the zip alone (package).

Each step that passed is remembered by the content hash of what it reads (tree.fingerprint of its parts, plus the
validators and pins), so re-deploying an unchanged tree validates nothing again, and a changed DAG re-runs only
the DAG integrity check (a changed requirements.txt only test-requirements, and so on).
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
    from mwaa_local.deploy import integrity_cache

    report, _parsed = integrity_cache.check(tree, cache_dir() / "dag-integrity")
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


# (name, check, the parts of the tree it reads)
STEPS: list[tuple[str, Callable[[Tree], list[str]], tuple[str, ...]]] = [
    ("DAG integrity", _integrity, ("dags", "include", "plugins")),
    ("test-requirements", _requirements, ("requirements",)),
    ("package", _package, ("plugins", "include")),
]


def _marker(name: str, tree: Tree, parts: tuple[str, ...]) -> Path:
    return cache_dir() / f"{name.replace(' ', '-').lower()}-{tree.fingerprint(*parts)}"


def is_cached(tree: Tree) -> bool:
    return all(_marker(name, tree, parts).is_file() for name, _, parts in STEPS)


def validate(tree: Tree, say: Callable[[str], None] = print, use_cache: bool = True) -> Validation:
    from mwaa_local import packaging

    started = time.monotonic()
    result = Validation(tree.fingerprint(), True)
    for name, step, parts in STEPS:
        marker = _marker(name, tree, parts)
        if use_cache and marker.is_file():
            continue
        result.cached = False
        step_started = time.monotonic()
        problems = step(tree)
        say(f"  {name}: {'ok' if not problems else f'{len(problems)} problem(s)'} "
            f"({time.monotonic() - step_started:.1f} s)")
        result.problems += problems
        if not problems:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"passed {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
    packaging.build(tree.plugins, plugins_zip())  # the zip to upload (reproducible: same plugins/, same bytes)
    result.seconds = time.monotonic() - started
    return result
