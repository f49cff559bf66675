"""requirements.txt into the runtime's environment, as MWAA installs it: under MWAA's essential pins, plus the
Airflow 3.3.1 constraints when the file names none (MWAA's rule: no line matching `-c |--constraint `, commented
lines included, so a commented constraint line is the documented opt-out; MWAA then warns and adds them).

Locally the runtime's environment is .venv, which the lock already makes satisfy requirements.txt. So rather than
reinstalling (which would fight the lock), `up` checks every requirement against what is installed and installs
only what is missing or at another version, with `uv pip install` under the same pins. A failed install stops
`up` with pip's error; MWAA only logs it and starts anyway (you find out when DAGs fail to import).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from mwaa_local import lock, paths
from mwaa_local.errors import UserError
from mwaa_local.requirements_check import CONSTRAINT_URL

MWAA_CONSTRAINT_MARKER = re.compile(r"-c |--constraint ")
INSTALL_LIMIT_S = 9 * 60


@dataclass
class RequirementsPlan:
    path: Path
    requirements: list[Requirement]
    constraints: str  # the pins the install runs under (text of a constraints file)
    warnings: list[str] = field(default_factory=list)


def plan(path: Path) -> RequirementsPlan:
    """What installing `path` means; a UserError for a line MWAA's pip would refuse too."""
    text = path.read_text() if path.is_file() else ""
    lines = text.splitlines()
    named = [line for line in lines if MWAA_CONSTRAINT_MARKER.search(line)]
    warnings = []
    live = [line.split("#", 1)[0].strip() for line in lines]
    live_constraints = [line for line in live if MWAA_CONSTRAINT_MARKER.match(line + " ")]
    if not named:
        warnings.append(f"{path.name} names no constraints file: adding the Airflow 3.3.1 / Python 3.12 constraints, "
                        f"as MWAA does (add --constraint \"{CONSTRAINT_URL}\" as its first line)")
    for line in live_constraints:
        url = line.split(None, 1)[-1].strip("\"' ")
        if url != CONSTRAINT_URL:
            raise UserError(f"{path.name}: constraints file {url} cannot be used locally (no network besides PyPI); "
                            f"use --constraint \"{CONSTRAINT_URL}\"")
    # Airflow's constraints apply unless the only constraint line is commented out (MWAA's opt-out);
    # MWAA's essential pins always apply. The local Python (3.11) relaxes the pins lock.py names.
    constraints = lock.local_constraints()
    if named and not live_constraints:
        essential = {line.split("==", 1)[0].lower() for line in paths.MWAA_ESSENTIAL.read_text().splitlines()}
        constraints = "\n".join(c for c in constraints.splitlines() if c.split("==", 1)[0].lower() in essential) + "\n"
    requirements = []
    for number, line in enumerate(live, 1):
        if not line or line.startswith("-"):
            continue
        try:
            requirements.append(Requirement(line))
        except InvalidRequirement as exc:
            raise UserError(f"{path.name}:{number}: not a valid requirement: {line} ({exc})") from exc
    return RequirementsPlan(path, requirements, constraints, warnings)


def unsatisfied(requirements: list[Requirement]) -> list[Requirement]:
    """Those not installed in this interpreter's environment at a version they accept."""
    missing = []
    for requirement in requirements:
        if requirement.marker and not requirement.marker.evaluate():
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(requirement)
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            missing.append(requirement)
    return missing


def install(requirements: list[Requirement], constraints: str, python: str = sys.executable) -> str:
    """uv pip install under `constraints` into `python`'s environment; pip's error as a UserError on failure."""
    with tempfile.TemporaryDirectory(prefix="mwaa-requirements-") as tmp:
        pins = Path(tmp) / "constraints.txt"
        pins.write_text(constraints)
        cmd = [lock.uv_executable(), "pip", "install", "--python", python, "--constraint", str(pins),
               *(str(r) for r in requirements)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_LIMIT_S)
        except subprocess.TimeoutExpired as exc:
            raise UserError(f"installing requirements.txt took over {INSTALL_LIMIT_S // 60} minutes (MWAA's limit)") from exc
    if done.returncode != 0:
        raise InstallFailed(" ".join(done.stderr.split())[-800:])
    return done.stderr


class InstallFailed(UserError):
    """uv/pip refused the install; `uv_message` is its own explanation (the end of it)."""

    def __init__(self, uv_message: str):
        super().__init__(f"requirements.txt could not be installed (MWAA would only log this and start anyway; "
                         f"here it stops): {uv_message}")
        self.uv_message = uv_message


@dataclass
class RequirementsOutcome:
    warnings: list[str]
    installed: list[str]
    already: int


def ensure(path: Path) -> RequirementsOutcome:
    """Installs what requirements.txt asks for and this environment lacks; nothing when all is satisfied."""
    wanted = plan(path)
    missing = unsatisfied(wanted.requirements)
    if missing:
        install(missing, wanted.constraints)
    return RequirementsOutcome(wanted.warnings, [str(r) for r in missing], len(wanted.requirements) - len(missing))
