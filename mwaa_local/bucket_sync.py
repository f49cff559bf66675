"""Puts this repository's deployable tree into an MWAA bucket, the layout MWAA reads:

  dags/**            -> s3://<bucket>/dags/
  include/**         -> s3://<bucket>/dags/include/
  plugins/ (zipped)  -> s3://<bucket>/plugins.zip
  requirements.txt   -> s3://<bucket>/requirements.txt
  startup.sh         -> s3://<bucket>/startup.sh

Unchanged objects are skipped (MD5 vs ETag), so re-syncing creates no new object versions; objects under dags/
that no longer exist locally are deleted. Works against AWS and the local cloud alike.

`pull` is the other direction, what an MWAA worker does with that bucket: dags/ mirrored into a local folder and
plugins.zip unzipped beside it, so local runs execute the DAG files as deployed, not the working tree.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaa_local import packaging, paths
from mwaa_local.errors import UserError
from mwaa_local.runtime import plugins

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


def planned_objects(plugins_zip: Path, dags: Path = paths.DAGS, include: Path = paths.INCLUDE) -> dict[str, Path]:
    objects = {**_files(dags, "dags/"), **_files(include, "dags/include/")}
    objects.update({"plugins.zip": plugins_zip, "requirements.txt": paths.REQUIREMENTS, "startup.sh": paths.STARTUP})
    return objects


def _remote_etags(s3: Any, bucket: str, prefix: str = "") -> dict[str, str]:
    etags = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            etags[obj["Key"]] = obj["ETag"].strip('"')
    return etags


def sync(s3: Any, bucket: str, delete: bool = True, dags: Path = paths.DAGS, include: Path = paths.INCLUDE) -> SyncResult:
    plugins_zip = packaging.build()
    wanted = planned_objects(plugins_zip, dags, include)
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


# -- the other direction: what an MWAA worker runs -------------------------------------------------------------
@dataclass
class DeployedTree:
    dags: Path  # s3://<bucket>/dags/ (include/ inside it, as on MWAA)
    plugins: Path  # plugins.zip unzipped

    @property
    def include(self) -> Path:
        return self.dags / "include"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _write_atomically(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(body)
    partial.replace(path)


@dataclass
class PullResult:
    downloaded: list[str] = field(default_factory=list)  # paths relative to the dags folder
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.downloaded or self.removed)


def pull(s3: Any, bucket: str, dest: Path) -> DeployedTree:
    """Mirrors s3://<bucket>/dags/ into <dest>/dags and unzips s3://<bucket>/plugins.zip into <dest>/plugins when it
    changed. What MWAA's workers do on a deploy."""
    tree = DeployedTree(dest / "dags", dest / "plugins")
    pull_dags(s3, bucket, tree.dags)
    _pull_plugins(s3, bucket, tree.plugins)
    return tree


def pull_dags(s3: Any, bucket: str, dags: Path) -> PullResult:
    """s3://<bucket>/dags/ mirrored into the folder, as MWAA syncs the DagS3Path: changed objects downloaded (ETag vs
    the local file's MD5), files gone from the bucket removed. Each file is written under a temporary name and
    renamed, so a dag-processor never reads half a file."""
    result = PullResult()
    wanted = set()
    for key, etag in sorted(_remote_etags(s3, bucket, "dags/").items()):
        rel = key.removeprefix("dags/")
        if not rel or rel.endswith("/"):
            continue  # folder placeholder objects
        if ".." in rel.split("/") or rel.startswith("/"):
            raise UserError(f"s3://{bucket}/{key}: refusing a key that would land outside {dags}")
        local = dags / rel
        wanted.add(local)
        if not (local.is_file() and _md5(local) == etag):
            _write_atomically(local, s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            result.downloaded.append(rel)
    if dags.is_dir():
        for path in sorted(dags.rglob("*"), reverse=True):  # children before their folders
            if "__pycache__" in path.parts:
                continue
            if path.is_file() and path not in wanted:
                path.unlink()
                result.removed.append(path.relative_to(dags).as_posix())
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    dags.mkdir(parents=True, exist_ok=True)
    return result


def _pull_plugins(s3: Any, bucket: str, folder: Path) -> None:
    etag = _remote_etags(s3, bucket, "plugins.zip").get("plugins.zip")
    stamp = folder.with_name(folder.name + ".etag")  # the plugins.zip version unzipped last
    if etag and stamp.is_file() and stamp.read_text() == etag and folder.is_dir():
        return
    if etag:
        plugins.extract(s3.get_object(Bucket=bucket, Key="plugins.zip")["Body"].read(), folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    stamp.write_text(etag or "")


# -- for deploy (mwaa_local/deploy/): the same content rules, used file by file ------------------------------------
def tree_files(root: Path, prefix: str) -> dict[str, Path]:
    """Bucket key (prefix + relative path) -> file, for every file under root that ships (none if no root)."""
    return _files(root, prefix) if root.is_dir() else {}


def remote_etags(s3: Any, bucket: str, prefix: str = "") -> dict[str, str]:
    """Key -> ETag (quotes stripped) of every current object under prefix."""
    return _remote_etags(s3, bucket, prefix)


def content_etag(body: bytes) -> str:
    """The ETag S3 gives an object uploaded in one part: the MD5 of its content."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()
