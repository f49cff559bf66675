"""Least-privilege check of the IAM in infra/*.yaml: every Allow statement of every role policy, managed policy,
bucket policy and key policy is searched for `Action: "*"`, `service:*`, `Resource: "*"` and NotAction/NotResource.

A finding passes only when infra/least-privilege-allowlist.yaml names it (template, resource, statement Sid,
finding) with the reason no narrower form exists (e.g. an action that only accepts "*" as its resource). An
allow-list entry that matches nothing fails too, so the list cannot outlive the exception it explains.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mwaa_local.infra.templates import INFRA, STACKS, InfraError, load_template

ALLOWLIST = INFRA / "least-privilege-allowlist.yaml"
KINDS = ("action-wildcard", "service-wildcard", "resource-wildcard", "not-action", "not-resource")


@dataclass(frozen=True)
class Finding:
    template: str
    resource: str
    sid: str
    kind: str
    detail: str

    def key(self) -> tuple[str, str, str, str]:
        return self.template, self.resource, self.sid, self.kind

    def __str__(self) -> str:
        return f"{self.template}.yaml {self.resource} statement {self.sid or '(no Sid)'}: {self.kind} ({self.detail})"


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict) -> Iterator[tuple[str, dict]]:
    """(resource logical id, policy document) for every policy a template defines."""
    for logical_id, spec in template.get("Resources", {}).items():
        props, kind = spec.get("Properties", {}), spec["Type"]
        if kind == "AWS::IAM::Role":
            yield logical_id, props.get("AssumeRolePolicyDocument", {})
            for policy in props.get("Policies", []):
                yield logical_id, policy["PolicyDocument"]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy",
                      "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield logical_id, props["PolicyDocument"]
        elif kind == "AWS::KMS::Key":
            yield logical_id, props["KeyPolicy"]


def _is_key_policy(template: dict, resource: str) -> bool:
    return template["Resources"][resource]["Type"] == "AWS::KMS::Key"


def findings_in(template_name: str, template: dict) -> list[Finding]:
    found = []
    for resource, document in policy_documents(template):
        for statement in _as_list(document.get("Statement", [])):
            if statement.get("Effect") != "Allow":
                continue  # a Deny with a wildcard only takes rights away
            sid = statement.get("Sid", "")

            def add(kind: str, detail: str, sid: str = sid, resource: str = resource) -> None:
                found.append(Finding(template_name, resource, sid, kind, detail))

            for action in _as_list(statement.get("Action", [])):
                if action == "*":
                    add("action-wildcard", "Action: *")
                elif isinstance(action, str) and action.endswith(":*"):
                    add("service-wildcard", f"Action: {action}")
            if "NotAction" in statement:
                add("not-action", "NotAction allows everything else")
            # In a key policy "*" is the only valid Resource and means this key.
            if "*" in _as_list(statement.get("Resource", [])) and not _is_key_policy(template, resource):
                add("resource-wildcard", "Resource: *")
            if "NotResource" in statement:
                add("not-resource", "NotResource allows every other resource")
    return found


@dataclass(frozen=True)
class Allowed:
    template: str
    resource: str
    sid: str
    kind: str
    reason: str

    def key(self) -> tuple[str, str, str, str]:
        return self.template, self.resource, self.sid, self.kind


def load_allowlist(path: Path = ALLOWLIST) -> list[Allowed]:
    try:
        entries = yaml.safe_load(path.read_text()) or []
    except (OSError, yaml.YAMLError) as exc:
        raise InfraError(f"cannot read {path}: {exc}") from exc
    allowed = []
    for number, entry in enumerate(entries, 1):
        missing = [k for k in ("template", "resource", "sid", "finding", "reason") if not entry.get(k)]
        if missing:
            raise InfraError(f"{path.name} entry {number}: needs {', '.join(missing)} (the reason says why no "
                             "narrower form exists)")
        if entry["finding"] not in KINDS:
            raise InfraError(f"{path.name} entry {number}: finding must be one of {', '.join(KINDS)}")
        allowed.append(Allowed(entry["template"], entry["resource"], entry["sid"], entry["finding"],
                               entry["reason"]))
    return allowed


def check(templates: dict[str, dict] | None = None, allowlist: list[Allowed] | None = None) -> list[str]:
    """Problems (empty when the IAM is least-privilege): findings not allowed, and allow-list entries unused."""
    templates = templates if templates is not None else {name: load_template(name) for name in STACKS}
    allowlist = allowlist if allowlist is not None else load_allowlist()
    found = [f for name, template in templates.items() for f in findings_in(name, template)]
    allowed = {a.key() for a in allowlist}
    problems = [f"not least privilege: {f}" for f in found if f.key() not in allowed]
    used = {f.key() for f in found}
    problems += [f"stale allow-list entry (matches nothing): {' / '.join(a.key())}"
                 for a in allowlist if a.key() not in used]
    return problems
