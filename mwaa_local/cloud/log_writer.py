"""Writes a job's output into CloudWatch Logs (moto's logs backend, in-process), where the AWS service would put it
and the Airflow provider reads it. Every service that runs user code uses it as a jobs.LogSink."""

from __future__ import annotations

import threading
import time

from mwaa_local.cloud import moto_state
from mwaa_local.cloud.state import StateStore

MAX_EVENT_CHARS = 256 * 1024 - 26  # CloudWatch's event size limit


class LogWriter:
    """Buffers lines and flushes them as one PutLogEvents-equivalent (and one snapshot) per batch."""

    def __init__(self, store: StateStore, group: str, stream: str, region: str = "us-east-1"):
        self.store, self.group, self.stream, self.region = store, group, stream, region
        self._pending: list[dict] = []
        self._lock = threading.Lock()
        self._created = False

    def write(self, line: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": line.rstrip("\n")[:MAX_EVENT_CHARS] or " "}
        with self._lock:
            self._pending.append(event)

    def flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        if not events and self._created:
            return
        with self.store.mutation(moto_state.register_moto_backend(self.store, "logs")):
            logs = moto_state.backend("logs", self.region)
            if not self._created:
                if self.group not in logs.groups:
                    logs.create_log_group(self.group, {})
                logs.ensure_log_stream(self.group, self.stream)
                self._created = True
            if events:
                logs.put_log_events(self.group, self.stream, events)
