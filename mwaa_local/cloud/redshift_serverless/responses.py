"""Redshift Serverless on the wire: boto3's camelCase parameters in, the shapes botocore expects out."""

from __future__ import annotations

from typing import Any

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.redshift_serverless.exceptions import ValidationException
from mwaa_local.cloud.redshift_serverless.models import Namespace, ServerlessBackend, Workgroup
from mwaa_local.cloud.service import JsonService


def _iso(value) -> str:  # this API's creationDate is an ISO 8601 string, unlike most JSON-protocol timestamps
    return value.isoformat().replace("+00:00", "Z")


def _page(items: list, next_token: str | None, max_results: int | None) -> tuple[list, str | None]:
    try:
        start = int(next_token or 0)
    except (TypeError, ValueError):
        raise ValidationException(f"nextToken {next_token!r} is invalid.") from None
    size = 100 if max_results is None else max_results
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise ValidationException("maxResults must be between 1 and 100.")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def namespace_shape(namespace: Namespace) -> dict:
    return {
        "namespaceName": namespace.name, "namespaceArn": namespace.arn, "namespaceId": namespace.id,
        "dbName": namespace.db_name, "adminUsername": namespace.admin_username, "iamRoles": namespace.iam_roles,
        "kmsKeyId": namespace.kms_key_id, "logExports": namespace.log_exports, "status": namespace.status,
        "creationDate": _iso(namespace.created),
        **({"defaultIamRoleArn": namespace.default_iam_role_arn} if namespace.default_iam_role_arn else {}),
    }


def workgroup_shape(workgroup: Workgroup, endpoint_host: str) -> dict:
    shape = {
        "workgroupName": workgroup.name, "workgroupArn": workgroup.arn, "workgroupId": workgroup.id,
        "namespaceName": workgroup.namespace_name, "baseCapacity": workgroup.base_capacity,
        "port": workgroup.port, "publiclyAccessible": workgroup.publicly_accessible,
        "enhancedVpcRouting": workgroup.enhanced_vpc_routing, "configParameters": workgroup.config_parameters,
        "securityGroupIds": workgroup.security_group_ids, "subnetIds": workgroup.subnet_ids,
        "status": workgroup.status, "creationDate": _iso(workgroup.created),
        "endpoint": {"address": endpoint_host, "port": workgroup.port, "vpcEndpoints": []},
    }
    if workgroup.max_capacity is not None:
        shape["maxCapacity"] = workgroup.max_capacity
    return shape


class RedshiftServerlessService(JsonService):
    signing_name = "redshift-serverless"
    target_prefix = "RedshiftServerless"

    def __init__(self, context: CloudContext):
        self.context = context
        self.backend = ServerlessBackend(context)

    def _workgroup(self, workgroup: Workgroup) -> dict:
        # No wire-protocol endpoint is served locally: the address names the workgroup, as AWS's does.
        host = f"{workgroup.name}.{self.context.account_id}.{self.context.region}.redshift-serverless.localhost"
        return workgroup_shape(workgroup, host)

    # ---- namespaces ----------------------------------------------------------------------------------------

    def create_namespace(self, namespaceName: str, dbName: str | None = None, adminUsername: str | None = None,  # noqa: N803
                         adminUserPassword: str | None = None, manageAdminPassword: bool | None = None,
                         defaultIamRoleArn: str | None = None, iamRoles: list | None = None,
                         kmsKeyId: str | None = None, logExports: list | None = None, tags: list | None = None,
                         **_ignored: Any) -> dict:
        namespace = self.backend.create_namespace(
            namespaceName, dbName, adminUsername, adminUserPassword, manageAdminPassword,
            default_iam_role_arn=defaultIamRoleArn, iam_roles=list(iamRoles or []),
            kms_key_id=kmsKeyId or "AWS_OWNED_KMS_KEY", log_exports=list(logExports or []), tags=list(tags or []))
        return {"namespace": namespace_shape(namespace)}

    def get_namespace(self, namespaceName: str) -> dict:  # noqa: N803
        return {"namespace": namespace_shape(self.backend.namespace(namespaceName))}

    def list_namespaces(self, maxResults: int | None = None, nextToken: str | None = None) -> dict:  # noqa: N803
        page, token = _page(sorted(self.backend.namespaces.values(), key=lambda n: n.created), nextToken, maxResults)
        return {"namespaces": [namespace_shape(n) for n in page], **({"nextToken": token} if token else {})}

    def delete_namespace(self, namespaceName: str, finalSnapshotName: str | None = None,  # noqa: N803
                         finalSnapshotRetentionPeriod: int | None = None) -> dict:  # noqa: N803
        redshift_data = self.context.registry.get("redshift-data")
        drop = redshift_data.warehouse.drop if redshift_data else (lambda _folder: None)
        return {"namespace": namespace_shape(self.backend.delete_namespace(namespaceName, drop))}

    # ---- workgroups ----------------------------------------------------------------------------------------

    def create_workgroup(self, workgroupName: str, namespaceName: str, baseCapacity: int | None = None,  # noqa: N803
                         maxCapacity: int | None = None, port: int | None = None,
                         publiclyAccessible: bool | None = None, enhancedVpcRouting: bool | None = None,
                         configParameters: list | None = None, securityGroupIds: list | None = None,
                         subnetIds: list | None = None, tags: list | None = None, **_ignored: Any) -> dict:
        workgroup = self.backend.create_workgroup(
            workgroupName, namespaceName, base_capacity=baseCapacity, max_capacity=maxCapacity, port=port,
            publicly_accessible=publiclyAccessible, enhanced_vpc_routing=enhancedVpcRouting,
            config_parameters=configParameters, security_group_ids=securityGroupIds, subnet_ids=subnetIds,
            tags=tags)
        return {"workgroup": self._workgroup(workgroup)}

    def get_workgroup(self, workgroupName: str) -> dict:  # noqa: N803
        return {"workgroup": self._workgroup(self.backend.workgroup(workgroupName))}

    def list_workgroups(self, maxResults: int | None = None, nextToken: str | None = None,  # noqa: N803
                        ownerAccount: str | None = None) -> dict:  # noqa: N803
        page, token = _page(sorted(self.backend.workgroups.values(), key=lambda w: w.created), nextToken, maxResults)
        return {"workgroups": [self._workgroup(w) for w in page], **({"nextToken": token} if token else {})}

    def delete_workgroup(self, workgroupName: str) -> dict:  # noqa: N803
        return {"workgroup": self._workgroup(self.backend.delete_workgroup(workgroupName))}

    def get_credentials(self, workgroupName: str | None = None, dbName: str | None = None,  # noqa: N803
                        durationSeconds: int | None = None, customDomainName: str | None = None) -> dict:  # noqa: N803
        if not workgroupName:
            raise ValidationException("Either workgroupName or customDomainName must be specified "
                                      "(the local cloud serves workgroupName).")
        return self.backend.credentials(workgroupName, dbName, durationSeconds)
