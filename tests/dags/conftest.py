"""DAG integrity fixtures: each folder is parsed once per session (one fresh interpreter per file), and the
parse times of dags/ are printed at the end of the run (printed, never asserted).

Every worker run is recorded in a parse cache (see parse_cache.py) that the mutation check replays. Two
environment variables turn a run of the harness into the mutation check's subject (test_harness_mutation.py sets
them in a subprocess; nothing else should):
  DAG_INTEGRITY_PARSE_CACHE=DIR       record worker runs in DIR instead of a fresh session folder
  DAG_INTEGRITY_REPLAY_ONLY=1         never start a worker: a run missing from the cache is an error
  DAG_INTEGRITY_WITHOUT_RULE=NAME     remove rule NAME from dag_integrity.RULES before any test runs
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mwaa_local import dag_integrity, paths

from .parse_cache import ParseCache

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CATCHUP_ALLOWLIST = frozenset({"fixture_catchup_allowlisted"})
PARSE_CACHE_ENV = "DAG_INTEGRITY_PARSE_CACHE"
REPLAY_ONLY_ENV = "DAG_INTEGRITY_REPLAY_ONLY"
WITHOUT_RULE_ENV = "DAG_INTEGRITY_WITHOUT_RULE"
_dags_report = pytest.StashKey[dag_integrity.Report]()


def pytest_configure(config):
    removed = os.environ.get(WITHOUT_RULE_ENV)
    if removed:
        if removed not in dag_integrity.RULES:
            raise pytest.UsageError(f"{WITHOUT_RULE_ENV}={removed}: no such rule in dag_integrity.RULES")
        del dag_integrity.RULES[removed]  # the mutant: this run's harness checks without the rule


def pytest_report_header(config):
    removed = os.environ.get(WITHOUT_RULE_ENV)
    return f"MUTANT: dag_integrity rule {removed!r} removed" if removed else None


@pytest.fixture(scope="session", autouse=True)
def parse_cache(tmp_path_factory) -> Path:
    """Where this session's worker runs are recorded (autouse: installed before any folder is parsed)."""
    directory = Path(os.environ.get(PARSE_CACHE_ENV) or tmp_path_factory.mktemp("dag-parse-cache"))
    patch = pytest.MonkeyPatch()
    patch.setattr(dag_integrity, "_run_worker", ParseCache(directory, dag_integrity._run_worker,
                                                           replay_only=os.environ.get(REPLAY_ONLY_ENV) == "1"))
    yield directory
    patch.undo()


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
