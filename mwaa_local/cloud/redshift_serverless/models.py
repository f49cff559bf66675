"""Namespaces and workgroups of Redshift Serverless (state and behaviour; no HTTP here).

A namespace holds the data (one folder of DuckDB files, its `dbName` created at once); a workgroup is the compute
that serves it, so the Redshift Data API accepts `WorkgroupName=<created workgroup>` as soon as CreateWorkgroup
returns. The built-in workgroup `local-wg` (namespace `local-ns`, database `dev`) always exists.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.redshift_serverless.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    ValidationException,
)

STATE_NAME = "redshift-serverless"
BUILT_IN_NAMESPACE = "local-ns"
BUILT_IN_WORKGROUP = "local-wg"
BUILT_IN_STORAGE = "local-wg"  # the built-in workgroup's data folder predates namespaces: keep its name
BUILT_INS = (BUILT_IN_NAMESPACE, BUILT_IN_WORKGROUP)
DEFAULT_DATABASE = "dev"
DEFAULT_PORT = 5439
RESOURCE_NAME = re.compile(r"^[a-z0-9-]{3,64}$")
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,126}$")
ADMIN_USERNAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,127}$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Namespace:
    name: str
    arn: str
    id: str
    db_name: str = DEFAULT_DATABASE
    admin_username: str = "admin"
    default_iam_role_arn: str | None = None
    iam_roles: list[str] = field(default_factory=list)
    kms_key_id: str = "AWS_OWNED_KMS_KEY"
    log_exports: list[str] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    status: str = "AVAILABLE"
    created: dt.datetime = field(default_factory=_now)

    @property
    def storage(self) -> str:
        """The folder of the warehouse that holds this namespace's databases."""
        return BUILT_IN_STORAGE if self.name == BUILT_IN_NAMESPACE else f"ns-{self.name}"


@dataclass
class Workgroup:
    name: str
    arn: str
    id: str
    namespace_name: str
    base_capacity: int = 128
    max_capacity: int | None = None
    port: int = DEFAULT_PORT
    publicly_accessible: bool = False
    enhanced_vpc_routing: bool = False
    config_parameters: list[dict] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)
    subnet_ids: list[str] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    status: str = "AVAILABLE"
    created: dt.datetime = field(default_factory=_now)


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not RESOURCE_NAME.match(name):
        raise ValidationException(f"{kind} name {name!r} is invalid: use 3-64 lowercase letters, digits and hyphens.")
    return name


class ServerlessBackend:
    """Every namespace and workgroup of the local account, persisted through the state store."""

    def __init__(self, context: CloudContext):
        self.context = context
        self.namespaces: dict[str, Namespace] = {}
        self.workgroups: dict[str, Workgroup] = {}
        self._lock = threading.RLock()
        self._add_built_ins()
        context.store.register(STATE_NAME, self._snapshot, self._restore)
        context.registry[STATE_NAME] = self  # redshift-data looks workgroups up here

    # ---- durability ----------------------------------------------------------------------------------------

    def _snapshot(self) -> dict:
        with self._lock:
            return {"namespaces": copy.deepcopy(self.namespaces), "workgroups": copy.deepcopy(self.workgroups)}

    def _restore(self, saved: dict) -> None:
        with self._lock:
            self.namespaces, self.workgroups = saved["namespaces"], saved["workgroups"]
            self._add_built_ins()

    def _add_built_ins(self) -> None:
        if BUILT_IN_NAMESPACE not in self.namespaces:
            self.namespaces[BUILT_IN_NAMESPACE] = self._new_namespace(BUILT_IN_NAMESPACE)
        if BUILT_IN_WORKGROUP not in self.workgroups:
            self.workgroups[BUILT_IN_WORKGROUP] = self._new_workgroup(BUILT_IN_WORKGROUP, BUILT_IN_NAMESPACE)

    def _arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:redshift-serverless:{self.context.region}:{self.context.account_id}:{kind}/{resource_id}"

    @staticmethod
    def _id(name: str) -> str:  # built-ins keep one id across restarts, whether or not anything was saved
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name)) if name in BUILT_INS else str(uuid.uuid4())

    def _new_namespace(self, name: str, **settings) -> Namespace:
        namespace_id = self._id(name)
        return Namespace(name, self._arn("namespace", namespace_id), namespace_id, **settings)

    def _new_workgroup(self, name: str, namespace: str, **settings) -> Workgroup:
        workgroup_id = self._id(name)
        return Workgroup(name, self._arn("workgroup", workgroup_id), workgroup_id, namespace, **settings)

    # ---- namespaces ----------------------------------------------------------------------------------------

    def create_namespace(self, name: str, db_name: str | None, admin_username: str | None,
                         admin_password: str | None, manage_admin_password: bool | None, **settings) -> Namespace:
        _check_name("Namespace", name)
        db_name = DEFAULT_DATABASE if db_name is None else db_name
        if not isinstance(db_name, str) or not DATABASE_NAME.match(db_name):
            raise ValidationException(f"dbName {db_name!r} is invalid: start with a letter or underscore; use "
                                      "lowercase letters, digits, underscores or $ (at most 127 characters).")
        if admin_username is not None and not (isinstance(admin_username, str)
                                               and ADMIN_USERNAME.match(admin_username)):
            raise ValidationException(f"adminUsername {admin_username!r} is invalid.")
        if admin_password and manage_admin_password:
            raise ValidationException("You can't use adminUserPassword if manageAdminPassword is true.")
        with self.context.store.mutation(STATE_NAME), self._lock:
            if name in self.namespaces:
                raise ConflictException(f"Namespace {name} already exists.")
            namespace = self._new_namespace(name, db_name=db_name, admin_username=admin_username or "admin",
                                            **settings)
            self.namespaces[name] = namespace
        return namespace

    def namespace(self, name: str) -> Namespace:
        with self._lock:
            if name not in self.namespaces:
                raise ResourceNotFoundException(f"Namespace {name} not found.")
            return self.namespaces[name]

    def delete_namespace(self, name: str, drop_storage) -> Namespace:
        """`drop_storage(folder)` removes the namespace's databases once it is gone from the state."""
        if name == BUILT_IN_NAMESPACE:
            raise ValidationException(f"{name} is the local cloud's built-in namespace and cannot be deleted.")
        with self.context.store.mutation(STATE_NAME), self._lock:
            namespace = self.namespace(name)
            in_use = [w.name for w in self.workgroups.values() if w.namespace_name == name]
            if in_use:
                raise ConflictException(f"Namespace {name} is associated with workgroup {in_use[0]}; "
                                        "delete the workgroup first.")
            del self.namespaces[name]
        drop_storage(namespace.storage)
        namespace.status = "DELETING"
        return namespace

    # ---- workgroups ----------------------------------------------------------------------------------------

    def create_workgroup(self, name: str, namespace_name: str, **settings) -> Workgroup:
        _check_name("Workgroup", name)
        base = settings.get("base_capacity")
        if base is not None and (not isinstance(base, int) or not 8 <= base <= 1024 or base % 8):
            raise ValidationException(f"baseCapacity {base!r} is invalid: use a multiple of 8 from 8 to 1024.")
        port = settings.get("port")
        if port is not None and (not isinstance(port, int) or not 5431 <= port <= 5455 and not 8191 <= port <= 8215):
            raise ValidationException(f"port {port!r} is invalid: use 5431-5455 or 8191-8215.")
        settings = {key: value for key, value in settings.items() if value is not None}
        with self.context.store.mutation(STATE_NAME), self._lock:
            if name in self.workgroups:
                raise ConflictException(f"Workgroup {name} already exists.")
            self.namespace(namespace_name)
            taken = next((w.name for w in self.workgroups.values() if w.namespace_name == namespace_name), None)
            if taken:
                raise ConflictException(f"Namespace {namespace_name} is already associated with workgroup {taken}.")
            workgroup = self._new_workgroup(name, namespace_name, **settings)
            self.workgroups[name] = workgroup
        return workgroup

    def workgroup(self, name: str) -> Workgroup:
        with self._lock:
            if name not in self.workgroups:
                raise ResourceNotFoundException(f"Workgroup {name} not found.")
            return self.workgroups[name]

    def delete_workgroup(self, name: str) -> Workgroup:
        if name == BUILT_IN_WORKGROUP:
            raise ValidationException(f"{name} is the local cloud's built-in workgroup and cannot be deleted.")
        with self.context.store.mutation(STATE_NAME), self._lock:
            workgroup = self.workgroup(name)
            del self.workgroups[name]
        workgroup.status = "DELETING"
        return workgroup

    def storage_of(self, workgroup: str) -> tuple[str, str] | None:
        """(warehouse folder, default database) of a workgroup, or None when there is no such workgroup."""
        with self._lock:
            found = self.workgroups.get(workgroup)
            if found is None:
                return None
            namespace = self.namespaces[found.namespace_name]
            return namespace.storage, namespace.db_name

    def credentials(self, workgroup: str, db_name: str | None, duration: int | None) -> dict:
        duration = 900 if duration is None else duration
        if not isinstance(duration, int) or not 900 <= duration <= 3600:
            raise ValidationException("durationSeconds must be between 900 and 3600.")
        self.workgroup(workgroup)
        now = _now()
        return {"dbUser": "IAM:admin", "dbPassword": secrets.token_urlsafe(24),
                "expiration": now + dt.timedelta(seconds=duration),
                "nextRefreshTime": now + dt.timedelta(seconds=duration)}
