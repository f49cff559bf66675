"""What a deploy changes, decided by content: a file is uploaded only when its MD5 differs from the object's ETag
(S3's content hash for a single-part upload), and the environment is updated only with the object versions that
differ from the ones it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaa_local import bucket_sync
from mwaa_local.deploy.config import Target
from mwaa_local.deploy.tree import Tree

# role -> (UpdateEnvironment path member, version member)
MEMBERS = {"plugins": ("PluginsS3Path", "PluginsS3ObjectVersion"),
           "requirements": ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
           "startup": ("StartupScriptS3Path", "StartupScriptS3ObjectVersion")}


@dataclass
class Upload:
    key: str
    path: Path
    reason: str  # "new" or "changed"


@dataclass
class Plan:
    dag_uploads: list[Upload] = field(default_factory=list)
    dag_unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # under the DAG folder in the bucket, gone from the tree
    file_uploads: dict[str, Upload] = field(default_factory=dict)  # role -> upload
    file_keys: dict[str, str] = field(default_factory=dict)  # role -> key, for every file the tree has

    @property
    def uploads(self) -> list[Upload]:
        return self.dag_uploads + list(self.file_uploads.values())


def make(s3: Any, target: Target, tree: Tree, plugins_zip: Path) -> Plan:
    plan = Plan()
    local_files = {"plugins": plugins_zip, "requirements": tree.requirements, "startup": tree.startup}
    file_keys = {role: key for role, key in target.files().items() if local_files[role].is_file()}
    remote = bucket_sync.remote_etags(s3, target.bucket, target.dag_prefix)
    for key, path in sorted(tree.dag_files(target.dag_prefix).items()):
        etag = remote.get(key)
        if etag == bucket_sync.content_etag(path.read_bytes()):
            plan.dag_unchanged.append(key)
        else:
            plan.dag_uploads.append(Upload(key, path, "changed" if etag else "new"))
    wanted = set(tree.dag_files(target.dag_prefix)) | set(file_keys.values())
    plan.removed = sorted(k for k in remote if k not in wanted and not k.endswith("/"))
    for role, key in file_keys.items():
        etag = bucket_sync.remote_etags(s3, target.bucket, key).get(key)
        plan.file_keys[role] = key
        if etag != bucket_sync.content_etag(local_files[role].read_bytes()):
            plan.file_uploads[role] = Upload(key, local_files[role], "changed" if etag else "new")
    return plan


def update_parameters(plan: Plan, versions: dict[str, str], environment: dict) -> dict[str, str]:
    """UpdateEnvironment members for exactly the files whose version (or path) differs from what the environment
    runs. `versions`: role -> the object's current version id in the bucket (just uploaded or already there)."""
    parameters = {}
    for role, key in plan.file_keys.items():
        path_member, version_member = MEMBERS[role]
        version = versions.get(role)
        if version and (environment.get(path_member) != key or environment.get(version_member) != version):
            parameters[path_member], parameters[version_member] = key, version
    return parameters
