"""Moving a job's data between the local S3 and its folder: channels and inputs in, models and outputs back."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from mwaa_local.cloud.s3_objects import NoSuchBucket, NoSuchKey, S3Objects, split_uri


class StagingError(Exception):
    """The data cannot be moved; the message (prefixed ClientError: by callers) says why."""


def fetch(s3: S3Objects, uri: str) -> bytes:
    try:
        return s3.get(*split_uri(uri))
    except ValueError as exc:
        raise StagingError(str(exc)) from None
    except (NoSuchKey, NoSuchBucket) as exc:
        raise StagingError(str(exc)) from None


def write_inside(root: Path, relative: str, data: bytes) -> None:
    """Writes root/relative, refusing a key that would land outside root ('..', absolute)."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or path == root.resolve():
        raise StagingError(f"S3 key {relative!r} cannot be staged (it leaves the target folder)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def stage_prefix(s3: S3Objects, uri: str, target: Path) -> int:
    """Every object under the S3 prefix into target, keyed by its path below the prefix's folder; returns the count."""
    try:
        bucket, prefix = split_uri(uri)
        keys = list(s3.list_keys(bucket, prefix))
    except ValueError as exc:
        raise StagingError(str(exc)) from None
    except NoSuchBucket as exc:
        raise StagingError(f"Data download failed: {exc}") from None
    base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    count = 0
    for key, _size in keys:
        if not key.endswith("/"):
            write_inside(target, key[len(base):], s3.get(bucket, key))
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
        write_inside(target, relative, fetch(s3, prefix + relative))
    return len(keys)


def stage(s3: S3Objects, uri: str, data_type: str, target: Path) -> int:
    target.mkdir(parents=True, exist_ok=True)
    if data_type == "ManifestFile":
        return stage_manifest(s3, uri, target)
    return stage_prefix(s3, uri, target)


def extract_tar(data: bytes, target: Path, what: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(target, filter="data")  # no absolute paths, links out or devices
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise StagingError(f"{what} is not a valid tar.gz archive: {exc}") from None


def tar_gz(folder: Path) -> bytes:
    """The folder's contents at the archive root, as SageMaker packs model/ and output/data/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return buffer.getvalue()


def folder_objects(folder: Path, uri: str) -> tuple[str, dict[str, bytes]]:
    """(bucket, {key: bytes}) for every file of folder under the S3 prefix uri."""
    bucket, prefix = split_uri(uri.rstrip("/") + "/")
    return bucket, {prefix + str(p.relative_to(folder)): p.read_bytes()
                    for p in sorted(folder.rglob("*")) if p.is_file()}
