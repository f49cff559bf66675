"""Moving a job's data between the local S3 and its folder: channels and inputs in, models and outputs back.
Objects are streamed to and from files, never held whole in memory (a channel or a model may be gigabytes)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from mwaa_local.cloud.s3_objects import NoSuchBucket, NoSuchKey, S3Objects, split_uri


class StagingError(Exception):
    """The data cannot be moved; the message (prefixed ClientError: by callers) says why."""


def _split(uri: str) -> tuple[str, str]:
    try:
        return split_uri(uri)
    except ValueError as exc:
        raise StagingError(str(exc)) from None


def fetch(s3: S3Objects, uri: str) -> bytes:
    """A small object whole (a manifest)."""
    try:
        return s3.get(*_split(uri))
    except (NoSuchKey, NoSuchBucket) as exc:
        raise StagingError(str(exc)) from None


def inside(root: Path, relative: str) -> Path:
    """root/relative, refusing a key that would land outside root ('..', absolute); parents created."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or path == root.resolve():
        raise StagingError(f"S3 key {relative!r} cannot be staged (it leaves the target folder)")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def download(s3: S3Objects, bucket: str, key: str, target: Path) -> None:
    try:
        s3.download(bucket, key, target)
    except (NoSuchKey, NoSuchBucket) as exc:
        raise StagingError(str(exc)) from None


def stage_prefix(s3: S3Objects, uri: str, target: Path) -> int:
    """Every object under the S3 prefix into target, keyed by its path below the prefix's folder; returns the count."""
    bucket, prefix = _split(uri)
    try:
        keys = list(s3.list_keys(bucket, prefix))
    except NoSuchBucket as exc:
        raise StagingError(f"Data download failed: {exc}") from None
    base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    count = 0
    for key, _size in keys:
        if not key.endswith("/"):
            download(s3, bucket, key, inside(target, key[len(base):]))
            count += 1
    return count


def stage_manifest(s3: S3Objects, uri: str, target: Path) -> int:
    """A SageMaker manifest ([{"prefix": "s3://..."}, "relative/key", ...]) into target; returns the count."""
    try:
        entries = json.loads(fetch(s3, uri))
        prefix, keys = entries[0]["prefix"], entries[1:]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise StagingError(f'manifest {uri} is not a SageMaker manifest ([{{"prefix": "s3://..."}}, "key", ...]): '
                           f"{exc}") from None
    for relative in keys:
        download(s3, *_split(prefix + relative), inside(target, relative))
    return len(keys)


def stage(s3: S3Objects, uri: str, data_type: str, target: Path) -> int:
    target.mkdir(parents=True, exist_ok=True)
    if data_type == "ManifestFile":
        return stage_manifest(s3, uri, target)
    return stage_prefix(s3, uri, target)


def extract_tar(s3: S3Objects, uri: str, target: Path, what: str) -> None:
    """The tar.gz object at uri extracted into target; errors name `what` (e.g. "ModelDataUrl") and the URI."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        reader = s3.open_read(*_split(uri))
    except (NoSuchKey, NoSuchBucket) as exc:
        raise StagingError(f"{what} {uri}: {exc}") from None
    try:
        with reader, tarfile.open(fileobj=reader, mode="r:*") as archive:
            archive.extractall(target, filter="data")  # no absolute paths, links out or devices
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise StagingError(f"{what} {uri} is not a valid tar.gz archive: {exc}") from None


def tar_gz(folder: Path, archive_path: Path) -> Path:
    """The folder's contents at the archive root, as SageMaker packs model/ and output/data/, written to a file."""
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return archive_path


def tar_gz_bytes(files: dict[str, bytes]) -> bytes:
    """A small in-memory tar.gz of named bodies (inference code, test models)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def folder_objects(folder: Path, uri: str) -> tuple[str, dict[str, Path]]:
    """(bucket, {key: file}) for every file of folder under the S3 prefix uri (uploaded with S3Objects.put_files)."""
    bucket, prefix = split_uri(uri.rstrip("/") + "/")
    return bucket, {prefix + str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}
