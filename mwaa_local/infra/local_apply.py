"""Creates the local account from infra/*.yaml with infra/params/local.json: every resource the local stacks
define, through the local cloud's APIs, so the local account and AWS cannot drift.

Why not moto's CloudFormation (it is in the local cloud): its S3::Bucket ignores VersioningConfiguration and
PublicAccessBlockConfiguration (MWAA needs a versioned bucket), it has no Glue, SecretsManager::Secret or
S3::BucketPolicy types, a CreateStack fails when a bucket already exists (no import: an account provisioned before
the templates, or by another test, could never adopt them), and the local cloud persists only the cloudformation
backend after a CreateStack, not the S3/IAM changes it made. So this module evaluates the templates itself
(mwaa_local.infra.templates) and applies each resource idempotently: created when missing, brought to the
template's definition when present. A resource type it does not know, left active by the local parameters, is an
error, so nothing is skipped silently; AWS-only resources (network, MWAA, Redshift Serverless, the managed MLflow
server) are switched off by the Create* parameters of params/local.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from mwaa_local.infra.templates import Evaluator, InfraError, load_environment, load_template, stack_parameters

LOCAL_STACKS = ("storage", "data", "ml", "mwaa")  # network.yaml is AWS only
STACK_TAG = "mwaa-local:resource"  # finds a KMS key again (keys have no name)


@dataclass
class Applied:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # stack -> outputs

    def note(self, created: bool, what: str) -> None:
        (self.created if created else self.existing).append(what)


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


class _Account:
    """One applier per resource type: (properties) -> (Ref value, attributes, created?)."""

    def __init__(self, client: Callable[[str], Any], tag: str):
        self.client, self.tag = client, tag

    def kms_key(self, props: dict) -> tuple[str, dict, bool]:
        kms = self.client("kms")
        for key in kms.list_keys()["Keys"]:
            tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
            if {"TagKey": STACK_TAG, "TagValue": self.tag} in tags:
                kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(props["KeyPolicy"]))
                return key["KeyId"], {"Arn": key["KeyArn"], "KeyId": key["KeyId"]}, False
        meta = kms.create_key(Description=props.get("Description", ""), Policy=json.dumps(props["KeyPolicy"]),
                              Tags=[{"TagKey": STACK_TAG, "TagValue": self.tag}])["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        return meta["KeyId"], {"Arn": meta["Arn"], "KeyId": meta["KeyId"]}, True

    def kms_alias(self, props: dict) -> tuple[str, dict, bool]:
        kms = self.client("kms")
        name, target = props["AliasName"], props["TargetKeyId"]
        try:
            kms.create_alias(AliasName=name, TargetKeyId=target)
            return name, {}, True
        except ClientError as exc:
            if _code(exc) != "AlreadyExistsException":
                raise
            kms.update_alias(AliasName=name, TargetKeyId=target)
            return name, {}, False

    def s3_bucket(self, props: dict) -> tuple[str, dict, bool]:
        s3, name = self.client("s3"), props["BucketName"]
        try:
            s3.head_bucket(Bucket=name)
            created = False
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket"):
                raise
            s3.create_bucket(Bucket=name)
            created = True
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name,
                                       PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "BucketEncryption" in props:
            rules = [{"ApplyServerSideEncryptionByDefault": {
                          "SSEAlgorithm": rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
                          "KMSMasterKeyID": rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]},
                      "BucketKeyEnabled": rule.get("BucketKeyEnabled", False)}
                     for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "LifecycleConfiguration" in props:
            rules = [{"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""},
                      "NoncurrentVersionExpiration": {
                          "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}}
                     for rule in props["LifecycleConfiguration"]["Rules"]]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        return name, {"Arn": f"arn:aws:s3:::{name}"}, created

    def s3_bucket_policy(self, props: dict) -> tuple[str, dict, bool]:
        s3 = self.client("s3")
        try:
            s3.get_bucket_policy(Bucket=props["Bucket"])
            created = False
        except ClientError as exc:
            if _code(exc) != "NoSuchBucketPolicy":
                raise
            created = True
        s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
        return props["Bucket"], {}, created

    def iam_role(self, props: dict) -> tuple[str, dict, bool]:
        iam, name = self.client("iam"), props["RoleName"]
        trust = json.dumps(props["AssumeRolePolicyDocument"])
        try:
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
            created = True
        except ClientError as exc:
            if _code(exc) != "EntityAlreadyExists":
                raise
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
            arn, created = iam.get_role(RoleName=name)["Role"]["Arn"], False
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
        for old in set(iam.list_role_policies(RoleName=name)["PolicyNames"]) - set(wanted):
            iam.delete_role_policy(RoleName=name, PolicyName=old)  # the template is the whole truth
        for policy_name, document in wanted.items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return name, {"Arn": arn}, created

    def glue_database(self, props: dict) -> tuple[str, dict, bool]:
        glue, database = self.client("glue"), props["DatabaseInput"]
        try:
            glue.create_database(DatabaseInput=database)
            return database["Name"], {}, True
        except ClientError as exc:
            if _code(exc) != "AlreadyExistsException":
                raise
            glue.update_database(Name=database["Name"], DatabaseInput=database)
            return database["Name"], {}, False

    def glue_crawler(self, props: dict) -> tuple[str, dict, bool]:
        glue = self.client("glue")
        try:
            glue.create_crawler(**props)
            return props["Name"], {}, True
        except ClientError as exc:
            if _code(exc) != "AlreadyExistsException":
                raise
            glue.update_crawler(**props)
            return props["Name"], {}, False

    def glue_job(self, props: dict) -> tuple[str, dict, bool]:
        glue = self.client("glue")
        definition = {**props, "MaxCapacity": float(props["MaxCapacity"])} if "MaxCapacity" in props else props
        try:
            glue.get_job(JobName=props["Name"])
        except ClientError as exc:
            if _code(exc) != "EntityNotFoundException":
                raise
            glue.create_job(**definition)
            return props["Name"], {}, True
        update = {k: v for k, v in definition.items() if k != "Name"}
        glue.update_job(JobName=props["Name"], JobUpdate=update)
        return props["Name"], {}, False

    def secret(self, props: dict) -> tuple[str, dict, bool]:
        """Created with the template's value; an existing secret keeps its value (on AWS the password is put
        afterwards, and provision() puts the local connections)."""
        secrets, name = self.client("secretsmanager"), props["Name"]
        try:
            arn = secrets.create_secret(**{k: v for k, v in props.items() if k in (
                "Name", "Description", "SecretString", "KmsKeyId")})["ARN"]
            return arn, {"Id": arn}, True
        except ClientError as exc:
            if _code(exc) != "ResourceExistsException":
                raise
            arn = secrets.describe_secret(SecretId=name)["ARN"]
            return arn, {"Id": arn}, False


APPLIERS = {
    "AWS::KMS::Key": _Account.kms_key,
    "AWS::KMS::Alias": _Account.kms_alias,
    "AWS::S3::Bucket": _Account.s3_bucket,
    "AWS::S3::BucketPolicy": _Account.s3_bucket_policy,
    "AWS::IAM::Role": _Account.iam_role,
    "AWS::Glue::Database": _Account.glue_database,
    "AWS::Glue::Crawler": _Account.glue_crawler,
    "AWS::Glue::Job": _Account.glue_job,
    "AWS::SecretsManager::Secret": _Account.secret,
}


def apply_stack(client: Callable[[str], Any], stack: str, environment: str, exports: dict[str, Any],
                applied: Applied) -> None:
    """Applies one stack's active resources in template order (each template lists a resource after what it
    references) and adds its exports to `exports`."""
    env = load_environment(environment)
    template = load_template(stack)
    parameters = stack_parameters(stack, template, env)
    refs: dict[str, Any] = {}
    attributes: dict[str, dict] = {}

    def attribute(resource: str, name: str) -> Any:
        if resource not in attributes:
            raise InfraError(f"{stack}.yaml: {resource} is used before it is created (order the resources)")
        if name not in attributes[resource]:
            raise InfraError(f"{stack}.yaml: the local apply does not know {resource}.{name}")
        return attributes[resource][name]

    def ref(resource: str) -> Any:
        if resource not in refs:
            raise InfraError(f"{stack}.yaml: {resource} is used before it is created (order the resources)")
        return refs[resource]

    evaluator = Evaluator(template, parameters, env.region, stack_name=f"{parameters['EnvironmentName']}-{stack}",
                          exports=exports, resource_ref=ref, resource_attribute=attribute)
    account = _Account(client, f"{env.name}/{stack}")
    for logical_id, spec in template.get("Resources", {}).items():
        if not evaluator.active(spec):
            continue
        applier = APPLIERS.get(spec["Type"])
        if applier is None:
            raise InfraError(f"{stack}.yaml: {logical_id} ({spec['Type']}) cannot be created in the local cloud; "
                             f"switch it off for the local environment with its condition")
        properties = evaluator.value(spec.get("Properties", {}))
        refs[logical_id], attributes[logical_id], created = applier(account, properties)
        applied.note(created, f"{stack}/{logical_id} {refs[logical_id]}")
    outputs, new_exports = evaluator.outputs()
    applied.outputs[stack] = outputs
    exports.update(new_exports)


def apply_local(client: Callable[[str], Any], environment: str = "local") -> Applied:
    """Every local stack in deploy order; idempotent."""
    applied, exports = Applied(), {}
    for stack in LOCAL_STACKS:
        apply_stack(client, stack, environment, exports, applied)
    return applied
