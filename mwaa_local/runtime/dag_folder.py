"""s3://<bucket>/dags/ mirrored into $AIRFLOW_HOME/dags, as MWAA syncs the DagS3Path: changed objects are
downloaded (ETag vs the local file's MD5), files no longer in the bucket are removed. Each file is written to a
temporary name and renamed, so the dag-processor never reads half a file."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "dags/"


@dataclass
class PullResult:
    downloaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.downloaded or self.removed)


def _md5(path: Path) -> str | None:
    try:
        return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    except OSError:
        return None


def pull(s3: Any, bucket: str, dags_dir: Path) -> PullResult:
    result = PullResult()
    wanted: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(PREFIX):]
            if relative and not relative.endswith("/") and ".." not in Path(relative).parts:
                wanted[relative] = obj["ETag"].strip('"')
    dags_dir.mkdir(parents=True, exist_ok=True)
    for relative, etag in sorted(wanted.items()):
        target = dags_dir / relative
        if _md5(target) == etag:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(s3.get_object(Bucket=bucket, Key=PREFIX + relative)["Body"].read())
        os.replace(tmp, target)
        result.downloaded.append(relative)
    for path in sorted(dags_dir.rglob("*"), reverse=True):
        relative = path.relative_to(dags_dir).as_posix()
        if path.is_file() and relative not in wanted and "__pycache__" not in path.parts:
            path.unlink()
            result.removed.append(relative)
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return result
