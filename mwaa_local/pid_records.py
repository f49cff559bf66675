"""One pid record per background service the CLI starts (.local/run/<service>.json: pid, port, state dir, start
time, command), so `./mwaa-local stop` can end every one of them, and only them: a record whose pid has died or
now belongs to another program (pid reuse, checked by the process start time) is stale and is dropped unharmed."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mwaa_local import paths

START_TIME_SLACK_S = 2.0  # the record's process_started vs the OS's create_time of the pid


def run_dir() -> Path:
    return paths.local_state() / "run"


@dataclass
class PidRecord:
    service: str  # "cloud-4566", "postgres"
    pid: int
    port: int | None
    state_dir: str | None
    command: list[str]
    process_started: float  # the OS's start time of pid (epoch seconds): tells our process from a reused pid
    recorded_at: float

    @property
    def path(self) -> Path:
        return run_dir() / f"{self.service}.json"

    def process(self):
        """The live psutil.Process this record describes, or None if it is gone (or the pid was reused)."""
        import psutil

        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.process_started) > START_TIME_SLACK_S or \
                    proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None


def write(service: str, pid: int, port: int | None, state_dir: Path | str | None, command: list[str]) -> PidRecord:
    import psutil

    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = time.time()
    record = PidRecord(service, pid, port, str(state_dir) if state_dir else None, [str(c) for c in command],
                       started, time.time())
    record.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2))
    os.replace(tmp, record.path)
    return record


def read_all() -> list[PidRecord]:
    """Every record in .local/run; unreadable files are dropped (a half-written record cannot name a process)."""
    records = []
    for path in sorted(run_dir().glob("*.json")) if run_dir().is_dir() else []:
        try:
            records.append(PidRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
    return records


def read(service: str) -> PidRecord | None:
    return next((r for r in read_all() if r.service == service), None)


def remove(record: PidRecord) -> None:
    record.path.unlink(missing_ok=True)


def _signal_group(proc, sig: int) -> None:
    """Signals the process's whole group if it leads one (what we start gets its own session), else the process."""
    try:
        pgid = os.getpgid(proc.pid)
        if pgid == proc.pid:
            os.killpg(pgid, sig)
        else:
            os.kill(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def terminate_tree(proc, timeout: float = 10, spare: frozenset[int] = frozenset()) -> list[int]:
    """Ends a process, its process group and every descendant (a Glue job in its own group included): SIGTERM
    first so exit handlers run, SIGKILL for whatever is still alive after `timeout`. Returns the pids ended.
    `spare`: descendants left running with their own descendants (services with records of their own, e.g. the
    cloud `up` started, which their own stop ends and reports)."""
    import psutil

    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        family = [proc]
    if spare:
        spared = set(spare)
        for pid in spare:
            try:
                spared.update(child.pid for child in psutil.Process(pid).children(recursive=True))
            except psutil.Error:
                pass
        family = [member for member in family if member is proc or member.pid not in spared]
    for member in family:
        _signal_group(member, signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for member in alive:
        _signal_group(member, signal.SIGKILL)
        try:
            member.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)
    return [m.pid for m in family]
