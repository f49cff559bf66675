"""Runs user code for the services of the local cloud (Glue job scripts today, SageMaker jobs next) as processes the
cloud owns, so no job can outlive its run, hang the server or vanish in a crash.

- Each job is its own session and process group: stopping, timing out or ending it kills the whole tree
  (SIGTERM, then SIGKILL after a grace), including children the script started and left behind.
- When the main process exits, whatever it left in its group is killed at once (after a short grace), and so is any
  process that left the group but carries the job's marker: children that still hold the log pipes cannot delay the
  job's end, so the caller learns the outcome within about a second.
- One thread per job spawns it, reads both pipes (non-blocking, so nothing the job does can block the server), flushes
  the log sinks, enforces the timeout and reports the Outcome to `on_exit`.
- The job's processes die with the cloud: on a normal exit (atexit: SIGTERM/SIGINT end the cloud through
  sys.exit) the groups are killed; on `kill -9` the main process gets SIGKILL from the kernel (PR_SET_PDEATHSIG on
  Linux), and processes it left behind carry MARKER_ENV=<job id> and OWNER_ENV=<cloud pid:start time>, so the next
  cloud to start kills them (reap_orphans; a restarted cloud's recovery also ends its own runs' with kill_leftovers).

A service uses it as Glue does (glue/models.py): `jobs.start(JobSpec(job_id=<unique id>, command=[...], cwd=...,
env={...}, timeout=seconds, stdout=LogWriter(...), stderr=LogWriter(...), on_exit=ended))` and `job.stop()`; `ended`
gets the Outcome (exit code, timed_out, stopped, stderr tail) once the whole group is gone and the logs are flushed.
Its in-flight jobs after a restart: StateStore.register_recovery + kill_leftovers + restart_error.
"""

from __future__ import annotations

import atexit
import codecs
import collections
import ctypes
import dataclasses
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

MARKER_ENV = "MWAA_LOCAL_JOB_ID"  # inherited by every process a job starts (unless it scrubs its environment)
OWNER_ENV = "MWAA_LOCAL_JOB_OWNER"  # "<cloud pid>:<its start time>": the cloud process the job belongs to
FLUSH_INTERVAL = 0.25  # seconds between log-sink flushes while a job runs
_TICK = 0.05  # how often the watcher looks at stop / timeout / leftovers when nothing else wakes it
_MAX_LINE = 256 * 1024  # a "line" without newline is cut here so a job cannot grow our memory unbounded


def restart_error(what: str) -> str:
    """The error every in-flight asynchronous thing (statement, job run, training job ...) gets after a restart."""
    return f"the local cloud restarted while this {what} was running; re-run it"


class LogSink(Protocol):
    """Where a job's output goes, one line (without newline) at a time; flush() makes it visible (CloudWatch Logs)."""

    def write(self, line: str) -> None: ...

    def flush(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Outcome:
    returncode: int | None  # the main process's exit code; negative = killed by that signal (as subprocess says)
    timed_out: bool
    stopped: bool
    stderr_tail: tuple[str, ...]  # the last lines of stderr, for error messages
    started: float  # time.time()
    ended: float

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not (self.timed_out or self.stopped)


@dataclasses.dataclass(frozen=True)
class JobSpec:
    job_id: str  # unique across restarts (a run id): it marks the job's processes, see kill_leftovers
    command: Sequence[str]
    cwd: Path
    env: Mapping[str, str]  # the whole environment (nothing is inherited from the cloud)
    timeout: float | None = None  # seconds from start; None = no limit
    stdout: LogSink | Callable[[str], None] | None = None
    stderr: LogSink | Callable[[str], None] | None = None
    # called once, after the group is gone and the sinks are flushed; not while the cloud exits (the job is then
    # left in flight for the next start's recovery)
    on_exit: Callable[[Outcome], None] | None = None
    stop_grace: float = 3.0  # after Stop or timeout: SIGTERM, then SIGKILL this much later
    exit_grace: float = 0.5  # after the main process exits: the same for what it left behind
    tail_lines: int = 200


class JobStartError(Exception):
    """The job's process could not be started (missing executable or cwd); the message says why."""


class _CallableSink:
    def __init__(self, write: Callable[[str], None]):
        self.write = write

    def flush(self) -> None:
        pass


def _sink(target) -> LogSink | None:
    if target is None or hasattr(target, "write"):
        return target
    return _CallableSink(target)


# -- process-group helpers ----------------------------------------------------------------------------------------

def _proc_stat(pid: str) -> tuple[str, int] | None:
    """(state, pgid) of a process from /proc, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(entry)
            if stat and stat[1] == pgid and stat[0] not in ("Z", "X"):
                members.append(int(entry))
    return members


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _start_time(pid: int | str) -> str | None:
    """A process's start time (clock ticks since boot): with the pid, it names one process across pid reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_token() -> str:
    return f"{os.getpid()}:{_start_time(os.getpid())}"


def _marked_processes() -> Iterator[tuple[int, str, str]]:
    """(pid, job id, owner token) of every process carrying MARKER_ENV. Only the user's own processes are readable,
    which is all a job can be."""
    if not Path("/proc").is_dir():
        return
    marker, owner = f"{MARKER_ENV}=".encode(), f"{OWNER_ENV}=".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        job = next((v[len(marker):] for v in environ if v.startswith(marker)), None)
        if job is not None:
            token = next((v[len(owner):] for v in environ if v.startswith(owner)), b"")
            yield int(entry), job.decode(errors="replace"), token.decode(errors="replace")


def _kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _owner_alive(owner: str) -> bool:
    owner_pid, _, started = owner.partition(":")
    return owner_pid.isdigit() and bool(started) and _start_time(owner_pid) == started


def kill_leftovers(job_ids: Iterable[str]) -> int:
    """Kills every process still carrying MARKER_ENV for one of `job_ids` that this process started or whose cloud
    is gone (a restarted cloud's previous life); returns how many. Another live cloud on the machine may run a job
    of the same name (SageMaker names are the user's): its processes are left alone."""
    wanted, mine = set(job_ids), _owner_token()
    if not wanted:
        return 0
    return sum(_kill(pid) for pid, job, owner in _marked_processes()
               if job in wanted and (owner == mine or not _owner_alive(owner)))


def reap_orphans() -> int:
    """Kills the job processes whose cloud process is gone (a kill -9 runs no cleanup), whichever cloud started them:
    nothing else would ever end them. Services call it when they start; returns how many."""
    return sum(_kill(pid) for pid, _, owner in _marked_processes() if not _owner_alive(owner))


# PR_SET_PDEATHSIG: the kernel sends the job SIGKILL when the thread that started it dies (also on kill -9). Set by
# util-linux's setpriv exec'ing into the command, so the job starts with vfork (a fork of a cloud-sized process costs
# ~15 ms, and a Python preexec_fn in a threaded process can deadlock); without setpriv, by prctl in a preexec_fn.
# (If the cloud dies in the instant before the prctl, reap_orphans still ends the job at the next start.)
_LINUX = sys.platform.startswith("linux")
_SETPRIV = shutil.which("setpriv") if _LINUX else None
_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if _LINUX else None
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    if _prctl is None:
        return None

    def preexec() -> None:  # runs in the forked child: keep it to a syscall or two
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the cloud died before prctl: the signal will never come
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _resolve(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> list[str]:
    """The command with its executable found as exec would (on the job's PATH): a missing one is a JobStartError
    here, not an exit code of setpriv."""
    program = command[0] if command else ""
    if os.sep in program:
        found = program if os.access(Path(cwd, program), os.X_OK) else None
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
    if not found:
        raise JobStartError(f"could not start {program!r}: not found or not executable")
    return [found, *command[1:]]


# -- the job ------------------------------------------------------------------------------------------------------

_live: set[Job] = set()
_live_lock = threading.Lock()
_exiting = False


class Job:
    """A running job; created by start()."""

    def __init__(self, spec: JobSpec):
        self.spec = spec
        self.pid: int | None = None
        self.started = time.time()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._outcome: Outcome | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._fd_lock = threading.Lock()
        os.set_blocking(self._wake_w, False)

    # -- public -------------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Asks for the whole group to end (SIGTERM, SIGKILL after stop_grace); the outcome says stopped=True."""
        self._stop.set()
        self._wake()

    def wait(self, timeout: float | None = None) -> Outcome | None:
        self._done.wait(timeout)
        return self._outcome

    @property
    def outcome(self) -> Outcome | None:
        return self._outcome

    # -- the watcher thread -------------------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._fd_lock:  # never write to a closed (and maybe reused) fd number
            if self._wake_w is not None:
                try:
                    os.write(self._wake_w, b"x")
                except OSError:  # the pipe is full: the watcher is already woken
                    pass

    def _spawn(self) -> subprocess.Popen:
        spec = self.spec
        env = {**spec.env, MARKER_ENV: spec.job_id, OWNER_ENV: _owner_token()}
        command = _resolve(spec.command, env, spec.cwd)
        preexec = None
        if _SETPRIV:
            command = [_SETPRIV, "--pdeathsig", "KILL", "--", *command]
        else:
            preexec = _die_with_parent(os.getpid())
        return subprocess.Popen(command, cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec)

    def _run(self, started: threading.Event, failure: list) -> None:
        # The process is started by this thread and this thread lives until it is gone: PR_SET_PDEATHSIG fires when
        # the *thread* that forked the child ends.
        process = None
        try:
            try:
                process = self._spawn()
            except (OSError, subprocess.SubprocessError, JobStartError) as exc:
                failure.append(exc)
                return
            finally:
                self.pid = process.pid if process else None
                started.set()
            self._watch(process)
        except Exception:  # a bug of ours must not leave the job running or its caller waiting forever
            log.exception("job %s: watcher failed", self.spec.job_id)
            _killpg(process.pid, signal.SIGKILL)
            process.wait()
            if self._outcome is None:
                self._outcome = Outcome(process.returncode, False, self._stop.is_set(), (), self.started, time.time())
        finally:
            if self._outcome is not None and self.spec.on_exit is not None and not _exiting:
                try:
                    self.spec.on_exit(self._outcome)
                except Exception:
                    log.exception("job %s: on_exit failed", self.spec.job_id)
            self._close()
            with _live_lock:
                _live.discard(self)
            self._done.set()

    def _watch(self, process: subprocess.Popen) -> None:
        spec = self.spec
        sinks = {process.stdout.fileno(): _sink(spec.stdout), process.stderr.fileno(): _sink(spec.stderr)}
        pipes = _Pipes(process, sinks, spec.tail_lines)
        exit_fd = _exit_fd(process.pid)
        poller = select.poll()
        for fd in (*pipes.fds, self._wake_r, *([exit_fd] if exit_fd is not None else [])):
            poller.register(fd, select.POLLIN)
        deadline = self.started + spec.timeout if spec.timeout else None
        timed_out = stopped = exited = False
        kill_at: float | None = None  # when SIGTERM has been sent: the time to send SIGKILL
        last_flush = time.monotonic()
        while True:
            kill_phase = kill_at is not None
            for fd, _ in poller.poll(_TICK * 1000 if kill_phase or exit_fd is None else FLUSH_INTERVAL * 1000):
                if fd == self._wake_r:
                    os.read(fd, 64)
                elif fd in pipes.fds and not pipes.read(fd):
                    poller.unregister(fd)
            if not exited:
                exited = _has_exited(process.pid)  # a zombie until we reap it: its pid cannot be reused meanwhile
                if exited and exit_fd is not None:
                    poller.unregister(exit_fd)
            if kill_at is None:
                if exited:
                    kill_at = time.monotonic() + spec.exit_grace
                elif self._stop.is_set() or (deadline and time.time() >= deadline):
                    stopped, timed_out = self._stop.is_set(), not self._stop.is_set()
                    kill_at = time.monotonic() + spec.stop_grace
                if kill_at is not None:
                    _killpg(process.pid, signal.SIGTERM)
            if kill_at is not None and exited and not group_members(process.pid):
                break
            if kill_at is not None and time.monotonic() >= kill_at:
                _killpg(process.pid, signal.SIGKILL)
                kill_at = float("inf")  # SIGKILL sent; now just wait for the group to be gone
            if time.monotonic() - last_flush >= FLUSH_INTERVAL:
                pipes.flush_sinks()
                last_flush = time.monotonic()
        kill_leftovers([spec.job_id])  # what left the group with setsid() but still carries the job's marker
        process.wait()
        if exit_fd is not None:
            os.close(exit_fd)
        pipes.drain(until=time.monotonic() + 0.2)  # what the group wrote before it died; a process that escaped
        pipes.flush_sinks()                       # and holds a pipe cannot keep us here
        self._outcome = Outcome(process.returncode, timed_out, stopped, pipes.tail(), self.started, time.time())

    def _close(self) -> None:
        with self._fd_lock:
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_w = None


def _exit_fd(pid: int) -> int | None:
    """A pidfd that becomes readable when the process exits (Linux >= 5.3), else None (then we poll)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _has_exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (WNOWAIT)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class _Pipes:
    """The job's stdout and stderr, read without blocking and split into lines for the sinks."""

    def __init__(self, process: subprocess.Popen, sinks: dict[int, LogSink | None], tail_lines: int):
        self.sinks = sinks
        self.fds = set(sinks)
        self._files = {process.stdout.fileno(): process.stdout, process.stderr.fileno(): process.stderr}
        for fd in self.fds:
            os.set_blocking(fd, False)
        self._decoders = {fd: codecs.getincrementaldecoder("utf-8")(errors="replace") for fd in self.fds}
        self._partial = {fd: "" for fd in self.fds}
        self._stderr = process.stderr.fileno()
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)

    def read(self, fd: int) -> bool:
        """Reads what is there; False at end of file (the fd is then closed)."""
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        text = self._decoders[fd].decode(data, final=not data)
        buffered = self._partial[fd] + text
        *lines, rest = buffered.split("\n")
        lines = [line.removesuffix("\r") for line in lines]
        while len(rest) > _MAX_LINE:
            lines.append(rest[:_MAX_LINE])
            rest = rest[_MAX_LINE:]
        if not data and rest:
            lines.append(rest)
            rest = ""
        self._partial[fd] = rest
        for line in lines:
            self._emit(fd, line)
        if not data:
            self._close(fd)
            return False
        return True

    def _emit(self, fd: int, line: str) -> None:
        sink = self.sinks[fd]
        if fd == self._stderr:
            self._tail.append(line)
        if sink is not None:
            try:
                sink.write(line)
            except Exception:
                log.exception("a job's log sink failed")

    def drain(self, until: float) -> None:
        while self.fds and time.monotonic() < until:
            ready, _, _ = select.select(list(self.fds), [], [], max(0.0, until - time.monotonic()))
            for fd in ready:
                self.read(fd)
        for fd in list(self.fds):  # still open: held by a process outside the group; what it writes is lost
            if self._partial[fd]:
                self._emit(fd, self._partial[fd])
            self._close(fd)

    def _close(self, fd: int) -> None:
        self.fds.discard(fd)
        self._files[fd].close()

    def flush_sinks(self) -> None:
        for sink in self.sinks.values():
            if sink is not None:
                try:
                    sink.flush()
                except Exception:
                    log.exception("a job's log sink could not flush")

    def tail(self) -> tuple[str, ...]:
        return tuple(self._tail)


def start(spec: JobSpec) -> Job:
    """Starts the job and returns once its process exists (JobStartError if it cannot be started)."""
    if _exiting:
        raise JobStartError("the local cloud is shutting down")
    job = Job(spec)
    started, failure = threading.Event(), []
    with _live_lock:
        _live.add(job)
    threading.Thread(target=job._run, args=(started, failure), daemon=True,
                     name=f"job-{spec.job_id[:24]}").start()
    started.wait()
    if failure:
        with _live_lock:
            _live.discard(job)
        if isinstance(failure[0], JobStartError):
            raise failure[0]
        raise JobStartError(f"could not start {spec.command[0]!r}: {failure[0]}")
    return job


def running() -> list[Job]:
    with _live_lock:
        return list(_live)


@atexit.register
def kill_all(grace: float = 2.0) -> None:
    """When the cloud exits: every job's group gets SIGTERM, then SIGKILL. Their runs are left in flight on purpose:
    the next start's recovery marks them FAILED (restart_error), as after a crash."""
    global _exiting
    _exiting = True
    jobs = [job for job in running() if job.pid]
    for job in jobs:
        _killpg(job.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group_members(job.pid) for job in jobs):
        time.sleep(_TICK)
    for job in jobs:
        _killpg(job.pid, signal.SIGKILL)
    kill_leftovers(job.spec.job_id for job in jobs)
