"""DAG integrity fixtures: each folder is parsed once per session (one fresh interpreter per file), and the
parse times of dags/ are printed at the end of the run (printed, never asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwaa_local import dag_integrity, paths

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CATCHUP_ALLOWLIST = frozenset({"fixture_catchup_allowlisted"})
_dags_report = pytest.StashKey[dag_integrity.Report]()


@pytest.fixture(scope="session")
def dags_report(request) -> dag_integrity.Report:
    report = dag_integrity.check_folder(paths.DAGS)
    request.config.stash[_dags_report] = report
    return report


@pytest.fixture(scope="session")
def fixtures_report() -> dag_integrity.Report:
    return dag_integrity.check_folder(FIXTURES, catchup_allowlist=FIXTURE_CATCHUP_ALLOWLIST)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = config.stash.get(_dags_report, None)
    if report is None:
        return
    terminalreporter.section(f"DAG parse time ({report.folder.relative_to(paths.ROOT)}/)")
    terminalreporter.write_line(report.timing_table())
