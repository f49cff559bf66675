"""Every DAG file in dags/ follows the repository's rules. A failure names the file and the rule."""

from __future__ import annotations

import pytest

from mwaa_local import dag_integrity as di

RULES = (di.IMPORT, di.CYCLE, di.NETWORK, di.DATABASE, di.HEAVY, di.AWS_CLIENTS, di.BASELINE, di.UNIQUE,
         di.WORKER_FAILED, *di.DAG_RULES)


@pytest.mark.parametrize("rule", RULES)
def test_dags_follow_rule(dags_report, rule):
    violations = dags_report.by_rule(rule)
    if violations:
        where = dags_report.folder.name
        pytest.fail(f"{len(violations)} violation(s) of [{rule}] in {where}/:\n" + "\n".join(map(str, violations)),
                    pytrace=False)


def test_every_violation_is_filed_under_a_known_rule(dags_report):
    unknown = [v for v in dags_report.violations if v.rule not in RULES]
    if unknown:
        pytest.fail("\n".join(map(str, unknown)), pytrace=False)
