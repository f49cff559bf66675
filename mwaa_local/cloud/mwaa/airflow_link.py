"""The local Airflow that serves an environment's REST API: the one `./mwaa-local up` runs.

`up` writes <local state>/mwaa/ready.json ({"api_url": ..., optionally "environment": ...}) once Airflow is ready
and removes it when it stops, and keeps the admin login in passwords.json beside it. The environment it serves is
the local one (`mwaa-local`, or the name ready.json gives). Every call logs in with POST /auth/token, as any
client of Airflow 3's API must, then calls /api/v2<path> with the bearer token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mwaa_local import paths

LOCAL_ENVIRONMENT = "mwaa-local"
START_HINT = "start it with `./mwaa-local up --detach`"


class NoAirflow(LookupError):
    """No local Airflow runs for the environment (the message says how to start one)."""


def runtime_dir() -> Path:
    return paths.local_state() / "mwaa"


def _read(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def serves(environment: str) -> bool:
    """Whether `up`'s Airflow is the one behind this environment (running or not)."""
    return environment == (_read(runtime_dir() / "ready.json").get("environment") or LOCAL_ENVIRONMENT)


def api_url(environment: str) -> str | None:
    ready = _read(runtime_dir() / "ready.json")
    if not serves(environment) or not isinstance(ready.get("api_url"), str):
        return None
    return ready["api_url"].rstrip("/")


@dataclass
class Answer:
    status: int
    body: Any  # the decoded JSON, or the text when Airflow did not answer JSON


def _call(method: str, url: str, body: Any, headers: dict[str, str], timeout: float) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", "Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    try:
        return Answer(status, json.loads(text) if text else {})
    except ValueError:
        return Answer(status, text)


def invoke(environment: str, method: str, path: str, query: dict | None, body: Any, timeout: float = 60) -> Answer:
    """Calls the environment's Airflow REST API; NoAirflow when none runs or it does not answer."""
    base = api_url(environment)
    if base is None:
        why = "" if serves(environment) else f" (the local Airflow serves {LOCAL_ENVIRONMENT})"
        raise NoAirflow(f"no local Airflow is running for environment {environment}{why}; {START_HINT}")
    password = _read(runtime_dir() / "passwords.json").get("admin")
    try:
        login = _call("POST", base + "/auth/token", {"username": "admin", "password": password}, {}, timeout)
        if login.status not in (200, 201) or not isinstance(login.body, dict):
            raise NoAirflow(f"the local Airflow at {base} refused the admin login (HTTP {login.status}); "
                            f"restart it with `./mwaa-local down` and `./mwaa-local up --detach`")
        url = f"{base}/api/v2{path}" + (f"?{urllib.parse.urlencode(query, doseq=True)}" if query else "")
        return _call(method, url, body, {"Authorization": f"Bearer {login.body['access_token']}"}, timeout)
    except (urllib.error.URLError, OSError) as exc:
        raise NoAirflow(f"the local Airflow of environment {environment} at {base} does not answer ({exc}); "
                        f"{START_HINT}") from None
