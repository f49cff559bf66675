"""Checks requirements.txt the way the MWAA image will install it: under the Airflow 3.3.1 / Python 3.12
constraints plus the pins MWAA enforces on every install, for linux x86_64, offline from the vendored pins.

Every package must be pinned with `==`: with a range, a resolver that cannot satisfy the pins silently picks an
older release instead of failing (airflow-provider-great-expectations 1.x -> 0.2.8), and the DAGs get a package
nobody tested.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from mwaa_local import paths
from mwaa_local.lock import uv_executable

CONSTRAINT_URL = "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"
# The URL is never fetched (no network but PyPI): it stands for this vendored copy.
VENDORED = {CONSTRAINT_URL: paths.MWAA_CONSTRAINTS}
PYTHON_VERSION = "3.12"
PLATFORM = "x86_64-manylinux_2_28"
TARGET = f"MWAA Airflow 3.3.1 (Python {PYTHON_VERSION}, linux x86_64)"
_CONSTRAINT_LINE = re.compile(r"^(?:-c|--constraint)(?:\s+|=)[\"']?(?P<url>[^\"'\s]+)[\"']?$")


@dataclass
class Conflict:
    package: str
    pinned: str | None  # what the MWAA pins (or requirements.txt) fix it to
    needed: list[str] = field(default_factory=list)  # "structlog<25.5.0 (by airflow-provider-great-expectations)"

    def __str__(self) -> str:
        pin = f"pinned to {self.pinned}" if self.pinned else "no single version fits"
        return f"{self.package}: {pin}; but {'; '.join(self.needed)}"


@dataclass
class CheckResult:
    problems: list[str]  # one actionable line each
    conflicts: list[Conflict]
    resolved: dict[str, str]  # package -> version, when it resolves
    resolver_message: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.conflicts


def _logical_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, content) without comments, blank lines or line continuations."""
    lines, pending, start = [], "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        text = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text = (pending + text).strip()
        pending = ""
        if text:
            lines.append((start, text))
    return lines


def read_requirements(path: Path) -> tuple[list[Requirement], list[str]]:
    """The pinned requirements, and a problem line for everything that breaks the file's rules."""
    lines = _logical_lines(path)
    problems: list[str] = []
    if not lines:
        return [], [f"{path.name} is empty: its first line must be --constraint \"{CONSTRAINT_URL}\""]
    number, first = lines[0]
    match = _CONSTRAINT_LINE.match(first)
    if not match or match["url"] != CONSTRAINT_URL:
        found = match["url"] if match else first
        problems.append(f"{path.name}:{number}: the first line must be --constraint \"{CONSTRAINT_URL}\" "
                        f"(found: {found})")
        lines = lines if not match else lines[1:]
    else:
        lines = lines[1:]
    requirements = []
    for number, text in lines:
        if text.startswith("-"):
            problems.append(f"{path.name}:{number}: option not supported by this check: {text}")
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"{path.name}:{number}: not a valid requirement: {text} ({exc})")
            continue
        specs = list(requirement.specifier)
        if requirement.url or len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            problems.append(f"{path.name}:{number}: {requirement.name} must be pinned with == to one version "
                            f"(found: {text})")
            continue
        requirements.append(requirement)
    return requirements, problems


def load_pins() -> dict[str, str]:
    """Package -> version from the vendored constraints and essential pins (the essentials win)."""
    pins: dict[str, str] = {}
    for source in (paths.MWAA_CONSTRAINTS, paths.MWAA_ESSENTIAL):
        for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", source.read_text(), re.M):
            pins[canonicalize_name(name)] = version
    return pins


def compile_command(requirements_in: Path, output: Path) -> list[str]:
    return [
        uv_executable(), "pip", "compile", str(requirements_in),
        "--constraint", str(VENDORED[CONSTRAINT_URL]),
        "--constraint", str(paths.MWAA_ESSENTIAL),  # MWAA applies these whatever constraint file the user names
        "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM,
        "--no-python-downloads", "--no-header", "--no-annotate", "--quiet", "--color", "never",
        "--output-file", str(output),
    ]


def check(path: Path = paths.REQUIREMENTS) -> CheckResult:
    path = Path(path)
    if not path.is_file():
        return CheckResult([f"{path} not found"], [], {})
    requirements, problems = read_requirements(path)
    if problems:
        return CheckResult(problems, [], {})
    with tempfile.TemporaryDirectory(prefix="mwaa-requirements-") as tmp:
        requirements_in = Path(tmp) / "requirements.in"
        requirements_in.write_text("".join(f"{r}\n" for r in requirements))
        output = Path(tmp) / "resolved.txt"
        env = {**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}
        proc = subprocess.run(compile_command(requirements_in, output), capture_output=True, text=True, env=env)
        resolved_text = output.read_text() if proc.returncode == 0 and output.exists() else ""
    if proc.returncode != 0:
        message = proc.stderr.strip()
        return CheckResult([], parse_conflicts(message, requirements) or _unexplained(message), {}, message)
    resolved = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", resolved_text, re.M))
    return CheckResult([], [], resolved)


def _unexplained(message: str) -> list[Conflict]:
    """uv failed for a reason the parser does not recognise: still a failure, with uv's own words."""
    return [Conflict("<resolver>", None, [" ".join(message.split())[-600:] or "uv pip compile failed"])]


_OP = r"(?:==|!=|<=|>=|~=|<|>)"
# A requirement as uv prints it ("structlog<25.5.0", "foo>=1,<2", "bar[extra]==1.0"); a trailing "." ends a sentence.
_SPEC = rf"[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?(?:{_OP}[^\s,]+(?:,{_OP}[^\s,]+)*)?"


def parse_conflicts(message: str, requirements: list[Requirement]) -> list[Conflict]:
    """Names the packages uv could not fit together, and the versions involved, from its resolver explanation:
    e.g. "Because airflow-provider-great-expectations>=1.0.0 depends on structlog<25.5.0 and structlog==26.1.0"."""
    text = " ".join(message.replace("╰─▶", " ").split())
    mwaa = load_pins()
    own = {canonicalize_name(r.name): next(iter(r.specifier)).version for r in requirements}
    edges = [(who.rstrip("."), what) for who, what in re.findall(rf"({_SPEC}) depends on ({_SPEC})(?=[\s,]|$)", text)]
    edges += [(None, what) for what in re.findall(rf"you require ({_SPEC})(?=[\s,]|$)", text)]
    found: dict[str, Conflict] = {}
    for who, what in edges:
        try:
            needed = Requirement(what.rstrip("."))
        except InvalidRequirement:
            continue
        name = canonicalize_name(needed.name)
        # What fixes the version: MWAA's pins, or (for a dependency of something else) requirements.txt's own pin.
        fixed = [(mwaa.get(name), "MWAA")] + ([(own.get(name), "requirements.txt")] if who else [])
        for pinned, by in fixed:
            if pinned and needed.specifier and not needed.specifier.contains(Version(pinned), prereleases=True):
                conflict = found.setdefault(name, Conflict(name, f"{pinned} by {by}"))
                conflict.needed.append(f"{needed} is required by {who or 'requirements.txt'}")
                break
    return sorted(found.values(), key=lambda c: c.package)


# ---- --install: a real install, besides the resolution above -------------------------------------------------------


@dataclass
class InstallResult:
    python: str  # the interpreter of the scratch venv ("3.12.1 (/usr/bin/python3.12)")
    error: str = ""  # uv's message when the install failed
    installed: dict[str, str] = field(default_factory=dict)  # package -> version in the scratch venv
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


def target_python() -> str:
    """A Python 3.12 (MWAA's) when uv finds one on this machine, else this interpreter."""
    import sys

    found = subprocess.run([uv_executable(), "python", "find", PYTHON_VERSION, "--no-python-downloads"],
                           capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else sys.executable


def install(path: Path = paths.REQUIREMENTS, python: str | None = None) -> InstallResult:
    """requirements.txt installed for real into a throw-away venv (`uv venv` + `uv pip install` under MWAA's pins,
    the constraints added as MWAA adds them): what the resolution check cannot see (a failing build, a wheel
    missing for the platform, a Python version the package refuses) shows up here."""
    from mwaa_local.errors import UserError
    from mwaa_local.runtime import requirements

    python = python or target_python()
    env = {**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    with tempfile.TemporaryDirectory(prefix="mwaa-install-check-") as tmp:
        venv = Path(tmp) / "venv"
        made = subprocess.run([uv_executable(), "venv", "--python", python, "--no-python-downloads",
                               str(venv)], capture_output=True, text=True, env=env)
        if made.returncode != 0:
            return InstallResult(python, f"uv venv failed: {' '.join(made.stderr.split())[-600:]}")
        venv_python = str(venv / "bin" / "python")
        version = subprocess.run([venv_python, "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True).stdout.strip()
        result = InstallResult(f"{version} ({python})")
        try:
            wanted = requirements.plan(Path(path))
            result.warnings = wanted.warnings
            requirements.install(wanted.requirements, wanted.constraints, python=venv_python)
        except requirements.InstallFailed as exc:
            result.error = exc.uv_message
            return result
        except UserError as exc:
            result.error = str(exc)
            return result
        listed = subprocess.run([uv_executable(), "pip", "freeze", "--python", venv_python],
                                capture_output=True, text=True, env=env)
        result.installed = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", listed.stdout, re.M))
    return result
