"""Deploy's incremental DAG integrity: only files whose content (or whose include/ and plugins/) changed are
parsed again, and every rule, the folder rules included, still sees all files."""

from __future__ import annotations

import shutil

from mwaa_local import dag_integrity, paths
from mwaa_local.deploy import integrity_cache
from mwaa_local.deploy.tree import Tree


def _tree(tmp_path) -> Tree:
    for name in ("dags", "include", "plugins"):
        shutil.copytree(paths.ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return Tree(tmp_path)


def test_only_changed_files_are_parsed_and_folder_rules_see_all(tmp_path):
    tree, cache = _tree(tmp_path / "tree"), tmp_path / "cache"
    files = len(dag_integrity.list_dag_files(tree.dags))
    first, parsed = integrity_cache.check(tree, cache)
    assert parsed == files and first.violations == []
    again, parsed = integrity_cache.check(tree, cache)
    assert parsed == 0 and again.violations == [] and len(again.files) == files
    # A copy of a DAG under a new name: one file parsed, and the unique-id rule sees the cached original.
    shutil.copy(tree.dags / "platform_self_check.py", tree.dags / "copied_self_check.py")
    copied, parsed = integrity_cache.check(tree, cache)
    assert parsed == 1
    assert {v.rule for v in copied.violations} == {dag_integrity.UNIQUE}
    assert {v.file for v in copied.violations} == {"copied_self_check.py", "platform_self_check.py"}
    # The same verdict check_folder gives on the whole folder.
    assert copied.violations == dag_integrity.check_folder(tree.dags).violations
