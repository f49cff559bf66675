"""Runs startup.sh the way MWAA does: SOURCED by a bash wrapper (so `exit` inside it is caught), with a time
limit (5 minutes minus 5 s; MWAA_LOCAL_STARTUP_TIMEOUT, in seconds, lowers it), SIGTERM to its process group at
the limit and SIGKILL 5 s later. An EXIT trap dumps every exported variable (`env -0`) after the script, and the
exports are sorted into those that reach Airflow and those MWAA refuses (mwaa_local.runtime.protected)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mwaa_local.errors import UserError
from mwaa_local.runtime import protected

MWAA_LIMIT_S = 300 - 5
KILL_GRACE_S = 5
TIMEOUT_ENV = "MWAA_LOCAL_STARTUP_TIMEOUT"

# $1 = script, $2 = where the exports go, $3 = where the exit status goes. The trap runs however the script
# ends (falls off the end, `exit 3`, `set -e`), like MWAA's wrapper; a killed script leaves no dump.
_WRAPPER = r'''
__mwaa_dump() { __mwaa_status=$?; printf '%s' "$__mwaa_status" > "$__MWAA_STATUS"; env -0 > "$__MWAA_ENV"; }
__MWAA_ENV="$2"; __MWAA_STATUS="$3"
trap __mwaa_dump EXIT
source "$1"
'''


@dataclass
class StartupResult:
    script: Path
    exported: dict[str, str] = field(default_factory=dict)  # reaches every component
    refused: dict[str, str] = field(default_factory=dict)  # name -> why MWAA ignores it
    unset: list[str] = field(default_factory=list)  # names the script unset (MWAA keeps the container's value)
    exit_code: int | None = None
    timed_out: bool = False
    captured: bool = False  # False when the script was killed before its exports could be read
    seconds: float = 0.0
    limit: float = MWAA_LIMIT_S
    output: str = ""

    @property
    def failure(self) -> str | None:
        """One line saying why this run counts as failed, or None."""
        if self.timed_out:
            return f"{self.script.name} ran past the {self.limit:g} s limit and was killed"
        if not self.captured:
            return f"{self.script.name} was killed before its exported variables could be captured"
        if self.exit_code:
            return f"{self.script.name} exited with code {self.exit_code}"
        return None

    def report(self) -> list[str]:
        lines = [f"{self.script}: ran {self.seconds:.1f} s (limit {self.limit:g} s), "
                 + (self.failure or f"exit code {self.exit_code}")]
        lines.append(f"set ({len(self.exported)}; new or changed exports reach every component):"
                     + ("" if self.exported else " none"))
        lines += [f"  {name}={value}" for name, value in sorted(self.exported.items())]
        lines.append(f"refused ({len(self.refused)}):" + ("" if self.refused else " none"))
        lines += [f"  {name}: {why}" for name, why in sorted(self.refused.items())]
        if self.unset:
            lines.append("unset (ignored: components keep their value): " + ", ".join(sorted(self.unset)))
        return lines


def time_limit() -> float:
    """MWAA's limit, or the lower one MWAA_LOCAL_STARTUP_TIMEOUT asks for (tests)."""
    raw = os.environ.get(TIMEOUT_ENV)
    if not raw:
        return MWAA_LIMIT_S
    try:
        asked = float(raw)
    except ValueError:
        asked = -1
    if asked <= 0:
        raise UserError(f"{TIMEOUT_ENV}={raw!r} must be a positive number of seconds (at most {MWAA_LIMIT_S})")
    return min(asked, MWAA_LIMIT_S)


def _parse_env(dump: bytes) -> dict[str, str]:
    env = {}
    for entry in dump.split(b"\0"):
        name, sep, value = entry.decode(errors="replace").partition("=")
        if sep and name:
            env[name] = value
    return env


def _end_group(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run(script: Path, env: dict[str, str], limit: float | None = None, cwd: Path | None = None) -> StartupResult:
    """Sources `script` with `env` as the container environment; never raises for what the script does."""
    script = Path(script).resolve()
    if not script.is_file():
        raise UserError(f"startup script {script} does not exist")
    result = StartupResult(script, limit=limit if limit is not None else time_limit())
    with tempfile.TemporaryDirectory(prefix="mwaa-startup-") as scratch:
        dump, status = Path(scratch) / "env", Path(scratch) / "status"
        started = time.monotonic()
        process = subprocess.Popen(["bash", "-c", _WRAPPER, "mwaa-startup", str(script), str(dump), str(status)],
                                   env=env, cwd=cwd or script.parent, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = process.communicate(timeout=result.limit)
        except subprocess.TimeoutExpired:
            result.timed_out = True
            _end_group(process)
            out = process.stdout.read() if process.stdout else b""
        if process.poll() is None:  # leftovers of a finished script (a background job) go too
            _end_group(process)
        result.seconds = time.monotonic() - started
        result.output = (out or b"").decode(errors="replace")
        if not result.timed_out and dump.exists() and status.exists():
            result.captured = True
            result.exit_code = int(status.read_text() or 0)
            _classify(result, env, _parse_env(dump.read_bytes()))
        elif not result.timed_out:
            result.exit_code = process.returncode
    return result


def _classify(result: StartupResult, before: dict[str, str], after: dict[str, str]) -> None:
    for name, value in after.items():
        if name in protected.SHELL_NOISE or name.startswith("__MWAA") or before.get(name) == value:
            continue
        reason = protected.refusal_reason(name)
        if reason:
            result.refused[name] = reason
        else:
            result.exported[name] = value
    result.unset = [n for n in before if n not in after and n not in protected.SHELL_NOISE]
