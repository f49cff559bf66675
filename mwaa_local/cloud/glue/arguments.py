"""How Glue turns a job definition and a run request into the script's command line and limits (pure functions)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re

DEFAULT_TIMEOUT_MINUTES = 2880  # Glue's default job timeout (48 h)
TIMEOUT_UNIT_ENV = "MWAA_LOCAL_GLUE_TIMEOUT_UNIT_SECONDS"
# Glue's own argument names that are not the script's business but are still passed on its command line.
SPECIAL = ("--extra-py-files", "--additional-python-modules", "--python-modules-installer-option")


def resolved_arguments(default: dict | None, run: dict | None, non_overridable: dict | None) -> dict[str, str]:
    """Run arguments override the job's defaults; NonOverridableArguments win over both (as on Glue)."""
    merged = {**(default or {}), **(run or {}), **(non_overridable or {})}
    return {str(k): str(v) for k, v in merged.items()}


def command_line(job_name: str, run_id: str, arguments: dict[str, str]) -> list[str]:
    """`--JOB_NAME n --JOB_RUN_ID id --k v ...`, the argv tail a Glue script receives."""
    argv = ["--JOB_NAME", job_name, "--JOB_RUN_ID", run_id]
    for key, value in arguments.items():
        if key in ("--JOB_NAME", "--JOB_RUN_ID"):
            continue
        argv += [key if key.startswith("--") else f"--{key}", value]
    return argv


def timeout_seconds(minutes: int | None, unit_seconds: float | None = None) -> float:
    """Glue's Timeout is in minutes. Tests shrink the unit through MWAA_LOCAL_GLUE_TIMEOUT_UNIT_SECONDS, read by
    the cloud process only, so a 1-"minute" timeout can be exercised in a second."""
    if unit_seconds is None:
        unit_seconds = float(os.environ.get(TIMEOUT_UNIT_ENV) or 60)
    return float(minutes or DEFAULT_TIMEOUT_MINUTES) * unit_seconds


def split_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def missing_modules(spec: str | None) -> list[str]:
    """The entries of `--additional-python-modules` the local Python cannot satisfy (we never pip-install into the
    tooling's environment: a job asking for something we lack must fail and say what)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    missing = []
    for entry in split_list(spec):
        if entry.startswith("s3://") or entry.endswith(".whl"):
            missing.append(f"{entry} (wheels are not installed by the local cloud)")
            continue
        match = _REQUIREMENT.match(entry)
        if not match:
            missing.append(f"{entry} (not a requirement)")
            continue
        name, _, specifier = match.groups()
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(entry)
            continue
        try:
            if specifier and installed not in SpecifierSet(specifier.strip(), prereleases=True):
                missing.append(f"{entry} (installed: {installed})")
        except InvalidSpecifier:
            missing.append(f"{entry} (invalid version specifier)")
    return missing


def pyspark_available() -> bool:
    return importlib.util.find_spec("pyspark") is not None


def error_message(stderr_tail: list[str], returncode: int) -> str:
    """What Glue puts in ErrorMessage: the script's exception (the lines after its last traceback), else the last
    lines it wrote to stderr, else the exit code."""
    lines = [line.rstrip("\n") for line in stderr_tail]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if starts:
        exception = [line for line in lines[starts[-1] + 1:] if line and not line.startswith((" ", "\t"))]
        if exception:
            return "\n".join(exception)[-2000:]
    tail = [line for line in lines if line.strip()][-5:]
    if tail:
        return "\n".join(tail)[-2000:]
    return f"the script exited with code {returncode}"
