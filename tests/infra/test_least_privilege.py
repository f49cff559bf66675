"""The least-privilege check: the templates pass it, and it fires on wildcards."""

from pathlib import Path

import pytest
import yaml

from mwaa_local.infra import least_privilege
from mwaa_local.infra.least_privilege import Allowed, check, findings_in, load_allowlist
from mwaa_local.infra.templates import InfraError, _Loader

FIXTURE = Path(__file__).parent / "fixtures" / "wildcards.yaml"


def fixture_template() -> dict:
    return yaml.load(FIXTURE.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def test_templates_have_no_wildcard_that_could_be_narrowed():
    assert check() == []


def test_every_allowlisted_exception_explains_itself():
    entries = load_allowlist()
    assert entries, "the allow-list is empty: then the check above proves the templates have no wildcard at all"
    assert all(len(entry.reason.split()) >= 8 for entry in entries)


def test_check_fires_on_every_kind_of_wildcard():
    found = {(f.sid, f.kind) for f in findings_in("fixture", fixture_template())}
    assert found == {
        ("Everything", "action-wildcard"), ("Everything", "resource-wildcard"),
        ("AllOfS3", "service-wildcard"),
        ("AllButIam", "not-action"), ("AllButIam", "not-resource"),
    }  # the Deny and the key policy's Resource "*" (it means "this key") are not findings


def test_check_reports_findings_not_allowed():
    problems = check({"fixture": fixture_template()}, allowlist=[])
    assert len(problems) == 5
    assert "not least privilege: fixture.yaml Admin statement Everything: action-wildcard (Action: *)" in problems


def test_allowlist_accepts_exactly_what_it_names():
    allowed = [Allowed("fixture", "Admin", "AllOfS3", "service-wildcard", "reason")]
    problems = check({"fixture": fixture_template()}, allowlist=allowed)
    assert len(problems) == 4 and not any("AllOfS3" in p for p in problems)


def test_stale_allowlist_entry_fails():
    stale = Allowed("fixture", "Admin", "Gone", "resource-wildcard", "a statement that was removed")
    assert check({"fixture": {"Resources": {}}}, allowlist=[stale]) == [
        "stale allow-list entry (matches nothing): fixture / Admin / Gone / resource-wildcard"]


def test_real_templates_fail_without_the_allowlist():
    problems = check(allowlist=[])
    assert len(problems) == len(load_allowlist())


@pytest.mark.parametrize("entry, message", [
    ("- {template: mwaa, resource: R, sid: S, finding: resource-wildcard}", "needs reason"),
    ("- {template: mwaa, resource: R, sid: S, finding: everything, reason: because}", "finding must be one of"),
])
def test_malformed_allowlist_is_a_one_line_error(tmp_path, entry, message):
    path = tmp_path / "allow.yaml"
    path.write_text(entry)
    with pytest.raises(InfraError, match=message):
        least_privilege.load_allowlist(path)
