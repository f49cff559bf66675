"""Puts this repository's deployable tree into an MWAA bucket, the layout MWAA reads:

  dags/**            -> s3://<bucket>/dags/
  include/**         -> s3://<bucket>/dags/include/
  plugins/ (zipped)  -> s3://<bucket>/plugins.zip
  requirements.txt   -> s3://<bucket>/requirements.txt
  startup.sh         -> s3://<bucket>/startup.sh

Unchanged objects are skipped (MD5 vs ETag), so re-syncing creates no new object versions; objects under dags/
that no longer exist locally are deleted. Works against AWS and the local cloud alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaa_local import packaging, paths

SKIPPED_PARTS = {"__pycache__", ".DS_Store"}


@dataclass
class SyncResult:
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # key -> VersionId (MWAA pins these)


def _files(root: Path, prefix: str) -> dict[str, Path]:
    return {
        prefix + path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not SKIPPED_PARTS.intersection(path.parts) and path.suffix != ".pyc"
    }


def planned_objects(plugins_zip: Path) -> dict[str, Path]:
    objects = {**_files(paths.DAGS, "dags/"), **_files(paths.INCLUDE, "dags/include/")}
    objects.update({"plugins.zip": plugins_zip, "requirements.txt": paths.REQUIREMENTS, "startup.sh": paths.STARTUP})
    return objects


def _remote_etags(s3: Any, bucket: str) -> dict[str, str]:
    etags = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            etags[obj["Key"]] = obj["ETag"].strip('"')
    return etags


def sync(s3: Any, bucket: str, delete: bool = True) -> SyncResult:
    plugins_zip = packaging.build()
    wanted = planned_objects(plugins_zip)
    remote = _remote_etags(s3, bucket)
    result = SyncResult()
    for key, path in wanted.items():
        body = path.read_bytes()
        if remote.get(key) == hashlib.md5(body, usedforsecurity=False).hexdigest():
            result.unchanged.append(key)
            continue
        answer = s3.put_object(Bucket=bucket, Key=key, Body=body)
        result.uploaded.append(key)
        if answer.get("VersionId"):
            result.versions[key] = answer["VersionId"]
    if delete:
        for key in sorted(set(remote) - set(wanted)):
            if key.startswith("dags/"):
                s3.delete_object(Bucket=bucket, Key=key)
                result.deleted.append(key)
    return result
