"""`./mwaa-local deploy --env local` timed as a user runs it (the CLI in a subprocess, start-up included), on a
copy of the tree against an ephemeral local cloud: the first deploy (validation and every upload; not a target),
a no-op redeploy (target < 5 s: validation cached by content hash, nothing uploaded, no UpdateEnvironment) and a
one-DAG change (target < 10 s: the DAG integrity check re-runs, one object uploaded)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from mwaa_local import paths

HELP = "deploy to the local MWAA: no-op redeploy (target < 5 s) and a one-DAG change (target < 10 s)"
TARGETS = {"no-op redeploy": 5.0, "one-DAG change": 10.0}
SHIPPED = ("dags", "include", "plugins", "requirements.txt", "startup.sh")


def _copy_tree(dest: Path) -> None:
    for name in SHIPPED:
        source = paths.ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            shutil.copy2(source, dest / name)


def _deploy(root: Path, tree: Path, port: int, label: str) -> tuple[float, dict, str]:
    summary = root / f"{label.replace(' ', '-')}.json"
    env = {**os.environ, "MWAA_LOCAL_STATE": str(root / "state")}
    started = time.monotonic()
    proc = subprocess.run([str(paths.ROOT / "mwaa-local"), "deploy", "--env", "local", "--port", str(port),
                           "--source", str(tree), "--summary-json", str(summary)],
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{label}: deploy failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return seconds, json.loads(summary.read_text()), proc.stdout


def run(argv: list[str]) -> int:
    import argparse

    from mwaa_local.cloud import process

    argparse.ArgumentParser(prog="mwaa-local bench deploy", description=HELP).parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    tree = root / "tree"
    _copy_tree(tree)
    cloud = process.start(ephemeral=True, log_file=root / "cloud.log")
    port = int(cloud.endpoint_url.rsplit(":", 1)[1])
    rows = []
    try:
        seconds, first, _ = _deploy(root, tree, port, "first deploy")
        rows.append(("first deploy", seconds, first, None))
        seconds, noop, _ = _deploy(root, tree, port, "no-op redeploy")
        rows.append(("no-op redeploy", seconds, noop, TARGETS["no-op redeploy"]))
        dag = tree / "dags" / "platform_self_check.py"
        dag.write_text(dag.read_text() + "\n# bench deploy: one changed DAG\n")
        seconds, one, _ = _deploy(root, tree, port, "one-DAG change")
        rows.append(("one-DAG change", seconds, one, TARGETS["one-DAG change"]))
    finally:
        cloud.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'step':<16} {'seconds':>8} {'target':>7}  {'validate':>8}  uploaded  update")
    missed = 0
    for label, seconds, summary, target in rows:
        ok = target is None or seconds < target
        missed += not ok
        validate = summary["seconds"].get("validate", 0.0)
        goal = f"< {target:.0f}" if target else "-"
        versions = ", ".join(k for k in summary["update"] if k.endswith("Version")) or "none"
        print(f"{label:<16} {seconds:>8.1f} {goal:>7}  {validate:>8.1f}  {len(summary['uploaded']):>8}  {versions}"
              + ("" if ok else "  MISSED"))
    print("(seconds: the whole CLI run as a user sees it; validate: the part spent validating)")
    return 1 if missed else 0
