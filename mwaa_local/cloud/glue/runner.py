"""Preparing one job script to run: stage the script and --extra-py-files from S3 into a workspace, and build the
`python script.py --JOB_NAME ...` command line and its environment. Running it is mwaa_local.cloud.jobs's job."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mwaa_local.cloud import client
from mwaa_local.cloud.s3_objects import NoSuchBucket, NoSuchKey, S3Objects, split_uri

SHIM = Path(__file__).resolve().parent.parent.parent / "awsglue_shim"  # holds the `awsglue` package


class RunError(Exception):
    """A run that cannot start; the message becomes the run's ErrorMessage."""


def _fetch(s3: S3Objects, uri: str, what: str) -> bytes:
    try:
        bucket, key = split_uri(uri)
    except ValueError as exc:
        raise RunError(f"{what} {uri!r} is not an S3 URI (expected s3://bucket/key)") from exc
    try:
        return s3.get(bucket, key)
    except (NoSuchKey, NoSuchBucket) as exc:
        raise RunError(f"{what} {uri} not found: {exc}") from exc


def stage(s3: S3Objects, workspace: Path, script_location: str, extra_py_files: list[str]) -> tuple[Path, list[str]]:
    """Downloads the script and extra Python files; returns the script path and the PYTHONPATH entries to add."""
    workspace.mkdir(parents=True, exist_ok=True)
    script = workspace / (os.path.basename(split_uri(script_location)[1]) if script_location.startswith("s3://")
                          else "script.py")
    script.write_bytes(_fetch(s3, script_location, "ScriptLocation"))
    py_dir = workspace / "py"
    paths = []
    for uri in extra_py_files:
        name = os.path.basename(uri.rstrip("/"))
        if not name.endswith((".py", ".zip", ".whl", ".egg")):
            raise RunError(f"--extra-py-files entry {uri} must be a .py, .zip, .whl or .egg file")
        py_dir.mkdir(exist_ok=True)
        target = py_dir / name
        target.write_bytes(_fetch(s3, uri, "--extra-py-files entry"))
        if name.endswith(".py"):
            if str(py_dir) not in paths:
                paths.append(str(py_dir))
        else:
            paths.append(str(target))  # archives are importable from their own path
    return script, paths


def job_environment(endpoint_url: str, region: str, extra_paths: list[str]) -> dict[str, str]:
    env = client.job_environment(endpoint_url, region)
    env["PYTHONPATH"] = os.pathsep.join([*extra_paths, str(SHIM)])
    return env


def command(script: Path, argv: list[str]) -> list[str]:
    """The job's command line: the script on the cloud's own Python (the shim and extra files on PYTHONPATH)."""
    return [sys.executable, str(script), *argv]
