"""The integrity harness catches what it should: each bad file in fixtures/ breaks exactly the rules it is
meant to break (and the good one none), and each violation names the file and the rule."""

from __future__ import annotations

import pytest

from mwaa_local import dag_integrity as di

from .conftest import FIXTURES

EXPECTED = {
    "good_dag.py": set(),
    "catchup_allowlisted.py": set(),
    "syntax_error.py": {di.IMPORT},
    "heavy_import.py": {di.HEAVY},
    "cycle.py": {di.CYCLE},
    "missing_tags_owner.py": {di.TAGS, di.OWNER},
    "owner_airflow.py": {di.OWNER},
    "low_retries.py": {di.RETRIES},
    "task_retries_zero.py": {di.RETRIES},
    "catchup_true.py": {di.CATCHUP},
    "no_description.py": {di.DESCRIPTION},
    "no_schedule.py": {di.SCHEDULE},
    "duplicate_id_a.py": {di.UNIQUE},
    "duplicate_id_b.py": {di.UNIQUE},
    "variable_at_parse.py": {di.DATABASE},
    "orm_at_parse.py": {di.DATABASE},
    "socket_at_parse.py": {di.NETWORK},
    "aws_client_at_parse.py": {di.AWS_CLIENTS},
}


def test_every_fixture_has_an_expectation():
    on_disk = {p.name for p in FIXTURES.glob("*.py")} - {"ignored_by_airflowignore.py"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_breaks_exactly_its_rules(fixtures_report, name):
    violations = [v for v in fixtures_report.violations if v.file == name]
    assert {v.rule for v in violations} == EXPECTED[name], "\n".join(map(str, violations))
    for violation in violations:
        assert name in str(violation) and f"[{violation.rule}]" in str(violation)


def test_airflowignore_is_honoured(fixtures_report):
    assert "ignored_by_airflowignore.py" not in {f.file for f in fixtures_report.files}
    assert {f.file for f in fixtures_report.files} == set(EXPECTED)


def test_violations_point_at_the_offending_line(fixtures_report):
    [heavy] = [v for v in fixtures_report.by_rule(di.HEAVY) if v.message.startswith("imports pandas")]
    assert "heavy_import.py:5" in heavy.message
    [variable] = [v for v in fixtures_report.by_rule(di.DATABASE) if v.file == "variable_at_parse.py"]
    assert "GetVariable(key='data_bucket')" in variable.message and "variable_at_parse.py:8" in variable.message


def test_heavy_import_check_knows_when_it_is_blind():
    """If Airflow (the baseline) already imported a heavy package, every file would look clean: report that."""
    raw = di.parse_one(FIXTURES, FIXTURES / "good_dag.py", preimport=("numpy",))
    assert raw["baseline_heavy"] == ["numpy"]
    [violation] = di.baseline_violations([di.FileResult("good_dag.py", raw=raw)])
    assert violation.rule == di.BASELINE and "numpy" in violation.message


def test_parse_times_are_measured(fixtures_report):
    parsed = [f for f in fixtures_report.files if f.parse_seconds is not None]
    assert len(parsed) == len(EXPECTED)
    assert "good_dag.py" in fixtures_report.timing_table()


def test_catchup_allowlist_file_format(tmp_path):
    allowlist = tmp_path / "catchup_allowlist.txt"
    allowlist.write_text("# header\nrebuild_partitions  # needs every interval\n\n  other_dag\n")
    assert di.load_catchup_allowlist(allowlist) == {"rebuild_partitions", "other_dag"}
    assert di.load_catchup_allowlist(tmp_path / "missing.txt") == frozenset()
