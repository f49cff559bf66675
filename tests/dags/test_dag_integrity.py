"""Every DAG file in dags/ follows the repository's rules and defines exactly the DAGs it is declared to define.
A failure names the file, the rule and what to do."""

from __future__ import annotations

import pytest

from mwaa_local import dag_integrity as di

# The DAGs each file of dags/ defines: adding, renaming or losing a DAG is a change this list must show.
EXPECTED_DAG_IDS = {
    "ml_batch_score.py": ["ml_batch_score"],
    "ml_deploy.py": ["ml_deploy"],
    "ml_monitor.py": ["ml_monitor"],
    "ml_train.py": ["ml_train"],
    "platform_self_check.py": ["platform_self_check"],
    "retail_etl.py": ["retail_etl"],
}


def integrity_failures(report: di.Report, expected_dag_ids: dict[str, list[str]]) -> list[str]:
    """What is wrong with a DAGs folder: every violation of every rule, and any file whose DAGs differ from the
    declared ones (an empty folder, a lost DAG or a file without one among them)."""
    failures = [str(v) for v in report.violations]
    found = {f.file: sorted(d["dag_id"] for d in f.dags) for f in report.files}
    if found != expected_dag_ids:
        failures.append(f"DAG ids per file: expected {expected_dag_ids}, found {found}")
    return failures


def test_dags_folder_passes_the_integrity_check(dags_report):
    failures = integrity_failures(dags_report, EXPECTED_DAG_IDS)
    if failures:
        pytest.fail(f"{len(failures)} problem(s) in {dags_report.folder.name}/:\n" + "\n".join(failures),
                    pytrace=False)
