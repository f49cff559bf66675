"""Started by the local SageMaker as a job's main process, inside the job folder: runs the user's entry point the
way the training toolkit does (`*.py` with Python, `*.sh` with /bin/sh, a setup.py as `python -m module`), after
installing a requirements.txt found beside it into the job's own folder (never into the local environment).

Usage: python launcher.py <code dir> <entry point> [user args...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    code, entry_point, args = Path(argv[0]), argv[1], argv[2:]
    requirements = code / "requirements.txt"
    if requirements.exists():
        target = code.parent / "deps"
        installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                    "--target", str(target), "-r", str(requirements)])
        if installed.returncode != 0:
            print(f"could not install {requirements.name} (pip exited {installed.returncode})", file=sys.stderr)
            return installed.returncode
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")]))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))
    os.chdir(code)
    if entry_point.endswith(".sh"):
        command = ["/bin/sh", entry_point, *args]
    elif (code / "setup.py").exists() and not entry_point.endswith(".py"):
        command = [sys.executable, "-m", entry_point, *args]
    else:
        command = [sys.executable, entry_point, *args]
    sys.stdout.flush()
    os.execv(command[0], command)  # the user's process replaces ours: same pid, same group, same pipes


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
