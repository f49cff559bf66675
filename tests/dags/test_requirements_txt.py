"""requirements.txt installs on MWAA: the constraint line first, every package pinned with ==, and it resolves
under the vendored MWAA pins for Python 3.12 / linux x86_64 (uv, PyPI only)."""

from __future__ import annotations

import pytest

from mwaa_local import paths, requirements_check

HEADER = f'--constraint "{requirements_check.CONSTRAINT_URL}"\n'


def _file(tmp_path, text: str):
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def test_repository_requirements_resolve_under_mwaa_pins():
    result = requirements_check.check(paths.REQUIREMENTS)
    assert result.ok, "\n".join(result.problems + [str(c) for c in result.conflicts])
    for line in paths.REQUIREMENTS.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            assert result.resolved.get(name.strip()) == version.strip(), f"{name} did not resolve to its pin"


def test_a_package_that_needs_an_older_structlog_is_named(tmp_path):
    text = paths.REQUIREMENTS.read_text() + "airflow-provider-great-expectations==1.0.0\n"
    result = requirements_check.check(_file(tmp_path, text))
    assert not result.ok
    [conflict] = result.conflicts
    assert conflict.package == "structlog" and conflict.pinned.startswith("26.1.0")
    assert "structlog<25.5.0 is required by airflow-provider-great-expectations" in str(conflict)


@pytest.mark.parametrize(("text", "expected"), [
    ("apache-airflow-providers-amazon==9.34.0\n", "first line must be --constraint"),
    ('--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-3.2.0/constraints-3.12.txt"\n',
     "found: https://raw.githubusercontent.com/apache/airflow/constraints-3.2.0"),
    (HEADER + "great-expectations>=1.0\n", "great-expectations must be pinned with =="),
    (HEADER + "# comment\n\ngreat-expectations\n", "requirements.txt:4: great-expectations must be pinned"),
    (HEADER + "-r other.txt\n", "option not supported"),
    ("", "is empty"),
])
def test_file_rules(tmp_path, text, expected):
    result = requirements_check.check(_file(tmp_path, text))
    assert not result.ok
    assert any(expected in problem for problem in result.problems), result.problems


def test_conflict_with_a_direct_pin_is_named():
    message = ("× No solution found when resolving dependencies:\n  ╰─▶ Because you require structlog==25.1.0 and "
               "structlog==26.1.0, we can\n      conclude that your requirements are unsatisfiable.")
    [conflict] = requirements_check.parse_conflicts(message, [])
    assert conflict.package == "structlog" and conflict.pinned == "26.1.0 by MWAA"
    assert "structlog==25.1.0 is required by requirements.txt" in conflict.needed
