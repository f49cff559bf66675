"""Fault injection for tests: one-shot (or n-shot) failures that the local cloud raises where a real AWS call
could fail, so retry and rollback paths run for real.

A fault is {service, sql_contains, times, message}: the next `times` statements of `service` whose SQL contains
`sql_contains` (case-insensitive, whitespace-insensitive) fail with `message` instead of running. The Redshift
Data API checks right before it executes each statement of a batch, inside the batch's transaction, so a fault
on the MERGE fires after the batch's COPYs ran and the whole batch rolls back.

Managed over HTTP on the cloud process (never persisted; a restart clears them):
  POST   /_localcloud/faults   {"service": "redshift-data", "sql_contains": "MERGE INTO x", "times": 1,
                                "message": "..."}  -> 201 + the fault (with its id)
  GET    /_localcloud/faults   -> {"faults": [... with "remaining" and "fired"]}
  DELETE /_localcloud/faults   -> {"cleared": n}
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import asdict, dataclass

from werkzeug.wrappers import Request, Response

PATH = "/_localcloud/faults"
SERVICES = ("redshift-data",)  # where the cloud checks for faults


class FaultError(ValueError):
    """A fault specification the registry refuses (HTTP 400)."""


def _normalise(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().lower()


@dataclass
class Fault:
    id: str
    service: str
    sql_contains: str
    times: int
    message: str
    fired: int = 0

    @property
    def remaining(self) -> int:
        return self.times - self.fired

    def matches(self, service: str, sql: str) -> bool:
        return self.remaining > 0 and service == self.service and _normalise(self.sql_contains) in _normalise(sql)

    def error_message(self) -> str:
        return f"{self.message} (fault {self.id} injected by the local cloud)"

    def as_dict(self) -> dict:
        return {**asdict(self), "remaining": self.remaining}


class FaultRegistry:
    def __init__(self):
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, spec: dict) -> Fault:
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object: {service, sql_contains, times, message}")
        unknown = sorted(set(spec) - {"service", "sql_contains", "times", "message"})
        if unknown:
            raise FaultError(f"unknown fault field(s) {', '.join(unknown)}; "
                             "a fault has service, sql_contains, times, message")
        service = spec.get("service")
        if service not in SERVICES:
            raise FaultError(f"service must be one of {', '.join(SERVICES)} (got {service!r})")
        sql_contains = spec.get("sql_contains")
        if not isinstance(sql_contains, str) or not sql_contains.strip():
            raise FaultError("sql_contains must be a non-empty string (the SQL a failing statement contains)")
        times = spec.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise FaultError(f"times must be a whole number >= 1 (got {times!r})")
        message = spec.get("message") or f"injected fault: statement containing {sql_contains!r} failed"
        if not isinstance(message, str):
            raise FaultError("message must be a string")
        with self._lock:
            fault = Fault(f"fault-{next(self._ids)}", service, sql_contains, times, message)
            self._faults.append(fault)
        return fault

    def fire(self, service: str, sql: str) -> Fault | None:
        """The first armed fault matching this statement, counted as fired; None if none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, sql):
                    fault.fired += 1
                    return fault
        return None

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> int:
        with self._lock:
            cleared, self._faults = len(self._faults), []
        return cleared


# One registry per cloud process: the HTTP route and the services' executors share it.
REGISTRY = FaultRegistry()


def fire(service: str, sql: str) -> Fault | None:
    return REGISTRY.fire(service, sql)


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def handle(request: Request, registry: FaultRegistry = REGISTRY) -> Response:
    """The /_localcloud/faults route."""
    if request.method == "GET":
        return _json({"faults": [f.as_dict() for f in registry.list()]})
    if request.method == "DELETE":
        return _json({"cleared": registry.clear()})
    if request.method == "POST":
        try:
            spec = json.loads(request.get_data() or b"null")
            fault = registry.add(spec)
        except (ValueError, FaultError) as exc:  # JSONDecodeError is a ValueError
            return _json({"error": str(exc)}, 400)
        return _json(fault.as_dict(), 201)
    return _json({"error": f"method {request.method} not allowed; use GET, POST or DELETE"}, 405)


# ---------------------------------------------------------------- client side (tests, tools)

def _call(endpoint_url: str, method: str, body: dict | None = None) -> dict:
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(endpoint_url + PATH, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise FaultError(f"{method} {PATH}: HTTP {exc.code}: {exc.read().decode(errors='replace')}") from None


def add(endpoint_url: str, service: str, sql_contains: str, times: int = 1, message: str | None = None) -> dict:
    spec = {"service": service, "sql_contains": sql_contains, "times": times}
    if message:
        spec["message"] = message
    return _call(endpoint_url, "POST", spec)


def list_faults(endpoint_url: str) -> list[dict]:
    return _call(endpoint_url, "GET")["faults"]


def clear(endpoint_url: str) -> int:
    return _call(endpoint_url, "DELETE")["cleared"]
