"""`./mwaa-local deploy --env NAME`, in order, stopping at the first refusal:

1. the bucket: exists, versioning enabled, all public access blocked (MWAA requires both; the fix is named);
2. the environment: exists and is not already being changed;
3. the tree: validated (cached by content hash), or nothing is uploaded;
4. dags/ and include/ to <DagS3Path>/ (changed files only; removed files deleted only with --prune; no other
   prefix touched), then plugins.zip, requirements.txt, startup.sh when their content changed;
5. UpdateEnvironment with exactly the object versions that differ from what the environment runs (none: no
   call), then UPDATING -> AVAILABLE followed, or LastUpdate.Error reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from mwaa_local.deploy import clients, plan, validate
from mwaa_local.deploy.config import Target
from mwaa_local.deploy.tree import Tree
from mwaa_local.errors import UserError

SETTLED = ("AVAILABLE", "UPDATE_FAILED", "CREATE_FAILED", "UNAVAILABLE")
BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass
class Options:
    port: int = 4566
    prune: bool = False
    dry_run: bool = False
    validate: bool = True
    wait: bool = True
    timeout: float = 3600
    poll_seconds: float = 0.5


@dataclass
class Outcome:
    environment: str
    validation: str = ""  # "cached", "passed", "skipped", "failed"
    uploaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    kept_removed: list[str] = field(default_factory=list)
    update: dict[str, str] = field(default_factory=dict)  # the UpdateEnvironment members sent
    status: str = ""
    error: dict | None = None  # LastUpdate.Error when the update failed
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class DeployRefused(UserError):
    """The tree failed validation: nothing was uploaded."""

    def __init__(self, problems: list[str], outcome: Outcome):
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"deploy refused: the tree failed validation; nothing was uploaded\n{shown}{more}")
        self.outcome = outcome


def check_bucket(s3: Any, bucket: str) -> None:
    try:
        versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        raise UserError(f"cannot use bucket {bucket}: {code} ({exc.response['Error'].get('Message', '')})") from None
    if versioning != "Enabled":
        raise UserError(f"bucket {bucket} has no versioning, which MWAA requires (environments pin object versions); "
                        f"fix: aws s3api put-bucket-versioning --bucket {bucket} "
                        "--versioning-configuration Status=Enabled")
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError:
        block = {}
    if not all(block.get(flag) for flag in BLOCK_FLAGS):
        raise UserError(f"bucket {bucket} does not block all public access, which MWAA requires; fix: aws s3api "
                        f"put-public-access-block --bucket {bucket} --public-access-block-configuration "
                        + ",".join(f"{flag}=true" for flag in BLOCK_FLAGS))


def environment_of(mwaa: Any, target: Target) -> dict:
    try:
        env = mwaa.get_environment(Name=target.environment)["Environment"]
    except mwaa.exceptions.ResourceNotFoundException:
        raise UserError(f"no MWAA environment {target.environment} in {target.region}; create it first "
                        "(infra/ has the CloudFormation template)") from None
    if env["Status"] not in ("AVAILABLE", "UPDATE_FAILED"):
        raise UserError(f"MWAA environment {target.environment} is {env['Status']}; deploy when it is AVAILABLE")
    return env


def wait_settled(mwaa: Any, name: str, options: Options, say: Callable[[str], None]) -> dict:
    started, last, next_note = time.monotonic(), None, 30.0
    while True:
        env = mwaa.get_environment(Name=name)["Environment"]
        elapsed = time.monotonic() - started
        if env["Status"] != last:
            say(f"  {env['Status']} after {elapsed:.0f} s")
            last = env["Status"]
        elif elapsed >= next_note:
            say(f"  still {last} after {elapsed:.0f} s")
            next_note += 30
        if env["Status"] in SETTLED:
            return env
        if elapsed > options.timeout:
            raise UserError(f"{name} is still {last} after {options.timeout:.0f} s; follow it with "
                            f"`aws mwaa get-environment --name {name}`")
        time.sleep(options.poll_seconds)


def deploy(target: Target, tree: Tree, options: Options, say: Callable[[str], None] = print) -> Outcome:
    outcome = Outcome(target.environment)
    clock = time.monotonic()
    client = clients.factory(target, options.port)
    s3, mwaa = client("s3"), client("mwaa")
    if target.provision and not options.dry_run:
        clients.provision_local(target, client, say)
    try:
        check_bucket(s3, target.bucket)
    except UserError as exc:
        if target.provision and options.dry_run:
            raise UserError(f"{exc}; a deploy without --dry-run creates it") from None
        raise
    environment = environment_of(mwaa, target)
    tree.check()

    if options.dry_run:
        from mwaa_local import packaging

        zip_path = packaging.build(tree.plugins, validate.plugins_zip())
        cached = validate.is_cached(tree)
        outcome.validation = "cached" if cached else "would run"
        say(f"validation: {'passed before for this content (cached)' if cached else 'would run (DAG integrity, test-requirements, package)'}")
    else:
        if options.validate:
            say("validating the tree")
            checked = validate.validate(tree, say)
            outcome.seconds["validate"] = round(checked.seconds, 3)
            if not checked.ok:
                outcome.validation = "failed"
                raise DeployRefused(checked.problems, outcome)
            outcome.validation = "cached" if checked.cached else "passed"
            if checked.cached:
                say("validation: passed before for this content (cached)")
        else:
            from mwaa_local import packaging

            packaging.build(tree.plugins, validate.plugins_zip())
            outcome.validation = "skipped"
            say("validation: SKIPPED (--no-validate)")
        zip_path = validate.plugins_zip()

    decided = plan.make(s3, target, tree, zip_path)
    outcome.unchanged = len(decided.dag_unchanged) + len(decided.file_keys) - len(decided.file_uploads)
    verb = "would upload" if options.dry_run else "upload"
    for upload in decided.uploads:
        say(f"  {verb} s3://{target.bucket}/{upload.key} ({upload.reason})")
    if decided.removed:
        if options.prune:
            for key in decided.removed:
                say(f"  {'would delete' if options.dry_run else 'delete'} s3://{target.bucket}/{key}")
        else:
            say(f"  {len(decided.removed)} object(s) under s3://{target.bucket}/{target.dag_prefix} no longer in the "
                f"tree, kept (--prune deletes them): {', '.join(decided.removed[:5])}"
                + (" ..." if len(decided.removed) > 5 else ""))
            outcome.kept_removed = decided.removed

    versions: dict[str, str] = {}
    if options.dry_run:
        for role, key in decided.file_keys.items():
            if role in decided.file_uploads:
                versions[role] = "<new version>"
            else:
                versions[role] = s3.head_object(Bucket=target.bucket, Key=key).get("VersionId", "")
        outcome.update = plan.update_parameters(decided, versions, environment)
        say(f"would call UpdateEnvironment with {outcome.update}" if outcome.update
            else "no UpdateEnvironment: the environment runs these versions already")
        outcome.status = environment["Status"]
        return outcome

    started = time.monotonic()
    for upload in decided.dag_uploads:
        s3.put_object(Bucket=target.bucket, Key=upload.key, Body=upload.path.read_bytes())
        outcome.uploaded.append(upload.key)
    if options.prune:
        for key in decided.removed:
            s3.delete_object(Bucket=target.bucket, Key=key)
            outcome.deleted.append(key)
    for role, key in decided.file_keys.items():
        upload = decided.file_uploads.get(role)
        if upload is not None:
            versions[role] = s3.put_object(Bucket=target.bucket, Key=key, Body=upload.path.read_bytes())["VersionId"]
            outcome.uploaded.append(key)
        else:
            versions[role] = s3.head_object(Bucket=target.bucket, Key=key).get("VersionId", "")
    outcome.seconds["upload"] = round(time.monotonic() - started, 3)
    say(f"bucket: {len(outcome.uploaded)} uploaded, {outcome.unchanged} unchanged, {len(outcome.deleted)} deleted")

    outcome.update = plan.update_parameters(decided, versions, environment)
    if not outcome.update:
        say("environment: runs these versions already; no UpdateEnvironment (DAG changes reach it by the sync)")
        outcome.status = environment["Status"]
        outcome.seconds["total"] = round(time.monotonic() - clock, 3)
        return outcome
    say(f"UpdateEnvironment {target.environment}: " + ", ".join(
        f"{k}={v}" for k, v in outcome.update.items() if k.endswith("Version")))
    mwaa.update_environment(Name=target.environment, **outcome.update)
    if not options.wait:
        outcome.status = "UPDATING"
        return outcome
    started = time.monotonic()
    settled = wait_settled(mwaa, target.environment, options, say)
    outcome.seconds["update"] = round(time.monotonic() - started, 3)
    outcome.seconds["total"] = round(time.monotonic() - clock, 3)
    outcome.status = settled["Status"]
    if settled["Status"] != "AVAILABLE":
        outcome.error = (settled.get("LastUpdate") or {}).get("Error") or {}
    return outcome
