"""How the local MWAA API asks the running `up` to apply an UpdateEnvironment, through two files in <local
state>/mwaa/ (the folder of ready.json, which both read): the cloud writes update-request.json (which object
versions of which bucket to run), `up` takes it, re-bootstraps (requirements, startup.sh, plugins.zip), restarts the
components and writes update-result.json with the same id. Files, not a socket: `up` and the cloud are separate
processes, either may restart, and neither listens anywhere new. Imports neither moto nor Airflow."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REQUEST = "update-request.json"
RESULT = "update-result.json"
ROLES = ("startup", "requirements", "plugins")


@dataclass
class UpdateRequest:
    environment: str
    bucket: str
    keys: dict[str, str] = field(default_factory=dict)  # role -> key in the bucket
    versions: dict[str, str] = field(default_factory=dict)  # role -> object version id
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class UpdateResult:
    id: str
    error: str | None = None  # None: the environment now runs the requested versions
    restarted: bool = False  # False when `up` already ran exactly these versions


def _write(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _read(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def submit(folder: Path, request: UpdateRequest) -> None:
    (folder / RESULT).unlink(missing_ok=True)
    _write(folder / REQUEST, asdict(request))


def take(folder: Path) -> UpdateRequest | None:
    """The pending request (removed, so it is applied once), or None."""
    raw = _read(folder / REQUEST)
    (folder / REQUEST).unlink(missing_ok=True)
    if raw is None:
        return None
    try:
        return UpdateRequest(**raw)
    except TypeError:
        return None


def answer(folder: Path, result: UpdateResult) -> None:
    _write(folder / RESULT, asdict(result))


def wait(folder: Path, request_id: str, alive: Callable[[], bool], timeout: float, poll: float = 0.5) -> UpdateResult:
    """The result of `request_id`; an error result when `up` stops (alive() False) or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = _read(folder / RESULT)
        if raw and raw.get("id") == request_id:
            return UpdateResult(**raw)
        if not alive():
            (folder / REQUEST).unlink(missing_ok=True)
            return UpdateResult(request_id, "the local Airflow (`./mwaa-local up`) stopped before it applied the "
                                            "update; start it again and redeploy")
        time.sleep(poll)
    return UpdateResult(request_id, f"the local Airflow did not apply the update within {timeout:.0f} s")
