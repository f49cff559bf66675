"""Fault injection for tests: one-shot (or n-shot) failures that the local cloud raises where a real AWS call
could fail, so retry and rollback paths run for real.

A fault is {service, sql_contains, times, message}: the next `times` statements of `service` whose SQL contains
`sql_contains` (case-insensitive, whitespace-insensitive) fail with `message` instead of running. The Redshift
Data API checks right before it executes each statement of a batch, inside the batch's transaction, so a fault
on the MERGE fires after the batch's COPYs ran and the whole batch rolls back.

A crawl hold is {service: "glue", crawler, hold_seconds, times}: the next `times` crawls of that crawler pause
right after they start (state RUNNING, and STOPPING once StopCrawler is called) until the fault is cleared or
hold_seconds pass, so tests can act on a crawl in flight (StopCrawler, a restart) without racing it.

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
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

PATH = "/_localcloud/faults"
SERVICES = ("redshift-data", "glue")  # where the cloud checks for faults
FIELDS = {"redshift-data": {"service", "sql_contains", "times", "message"},
          "glue": {"service", "crawler", "hold_seconds", "times"}}
MAX_HOLD_SECONDS = 3600


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
    crawler: str = ""  # glue: the crawler whose crawls this holds
    hold_seconds: float = 0.0
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def remaining(self) -> int:
        return self.times - self.fired

    def matches(self, service: str, sql: str) -> bool:
        return (self.remaining > 0 and service == self.service and bool(self.sql_contains)
                and _normalise(self.sql_contains) in _normalise(sql))

    def error_message(self) -> str:
        return f"{self.message} (fault {self.id} injected by the local cloud)"

    def as_dict(self) -> dict:
        shown = {k: getattr(self, k) for k in ("id", *sorted(FIELDS[self.service]), "fired")}
        return {**shown, "remaining": self.remaining}


class FaultRegistry:
    def __init__(self):
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, spec: dict) -> Fault:
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object: {service, sql_contains, times, message}")
        service = spec.get("service")
        if service not in SERVICES:
            raise FaultError(f"service must be one of {', '.join(SERVICES)} (got {service!r})")
        unknown = sorted(set(spec) - FIELDS[service])
        if unknown:
            raise FaultError(f"unknown fault field(s) {', '.join(unknown)}; "
                             f"a {service} fault has {', '.join(sorted(FIELDS[service]))}")
        times = spec.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise FaultError(f"times must be a whole number >= 1 (got {times!r})")
        if service == "glue":
            return self._add_crawl_hold(spec, times)
        sql_contains = spec.get("sql_contains")
        if not isinstance(sql_contains, str) or not sql_contains.strip():
            raise FaultError("sql_contains must be a non-empty string (the SQL a failing statement contains)")
        message = spec.get("message") or f"injected fault: statement containing {sql_contains!r} failed"
        if not isinstance(message, str):
            raise FaultError("message must be a string")
        with self._lock:
            fault = Fault(f"fault-{next(self._ids)}", service, sql_contains, times, message)
            self._faults.append(fault)
        return fault

    def _add_crawl_hold(self, spec: dict, times: int) -> Fault:
        crawler = spec.get("crawler")
        if not isinstance(crawler, str) or not crawler.strip():
            raise FaultError("crawler must be a non-empty string (the name of the crawler whose crawl to hold)")
        hold = spec.get("hold_seconds")
        if isinstance(hold, bool) or not isinstance(hold, int | float) or not 0 < hold <= MAX_HOLD_SECONDS:
            raise FaultError(f"hold_seconds must be a number in (0, {MAX_HOLD_SECONDS}] (got {hold!r})")
        with self._lock:
            fault = Fault(f"fault-{next(self._ids)}", "glue", "", times, f"crawl of {crawler} held",
                          crawler=crawler, hold_seconds=float(hold))
            self._faults.append(fault)
        return fault

    def hold_crawl(self, crawler: str) -> Fault | None:
        """The first armed crawl hold for this crawler, counted as fired (the caller waits on it)."""
        with self._lock:
            for fault in self._faults:
                if fault.service == "glue" and fault.crawler == crawler and fault.remaining > 0:
                    fault.fired += 1
                    return fault
        return None

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
        """Disarms every fault and releases the crawls they hold."""
        with self._lock:
            cleared, self._faults = self._faults, []
        for fault in cleared:
            fault.released.set()
        return len(cleared)


# One registry per cloud process: the HTTP route and the services' executors share it.
REGISTRY = FaultRegistry()


def fire(service: str, sql: str) -> Fault | None:
    return REGISTRY.fire(service, sql)


def hold_crawl(crawler: str) -> None:
    """Blocks a starting crawl while a hold fault for its crawler is armed (until cleared or hold_seconds)."""
    fault = REGISTRY.hold_crawl(crawler)
    if fault is not None:
        fault.released.wait(fault.hold_seconds)


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


def hold_crawls(endpoint_url: str, crawler: str, hold_seconds: float = 300, times: int = 1) -> dict:
    """Holds the next `times` crawls of `crawler` in flight until `clear` (or hold_seconds)."""
    return _call(endpoint_url, "POST", {"service": "glue", "crawler": crawler, "hold_seconds": hold_seconds,
                                        "times": times})


def list_faults(endpoint_url: str) -> list[dict]:
    return _call(endpoint_url, "GET")["faults"]


def clear(endpoint_url: str) -> int:
    return _call(endpoint_url, "DELETE")["cleared"]
