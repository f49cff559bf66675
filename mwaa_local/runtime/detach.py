"""`up --detach`: the same supervisor as a background child (own session, its output in logs/up.log); the parent
echoes that output until the child says it is ready (ready.json with its pid) or exits, and exits accordingly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from mwaa_local import paths
from mwaa_local.runtime import credentials, supervisor

CHILD_ENV = "MWAA_LOCAL_UP_DETACHED"


def is_detached_child() -> bool:
    return os.environ.get(CHILD_ENV) == "1"


def _child_argv(options: supervisor.UpOptions) -> list[str]:
    argv = ["up", "--port", str(options.cloud_port), "--api-port", str(options.api_port),
            "--ready-timeout", str(int(options.ready_timeout)), "--mlflow-port", str(options.mlflow_port)]
    if options.dsn:
        argv += ["--dsn", options.dsn]
    if not options.mlflow:
        argv += ["--no-mlflow"]
    if options.startup_script:
        argv += ["--startup-script", str(options.startup_script.resolve())]
    if options.variables:
        variables = supervisor.root() / "variables.json"
        variables.parent.mkdir(parents=True, exist_ok=True)
        variables.write_text(json.dumps(options.variables))
        argv += ["--variables", str(variables)]
    return argv


def start_detached(options: supervisor.UpOptions) -> int:
    supervisor.preflight(options.api_port)
    log = supervisor.logs_dir() / "up.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    supervisor.ready_file().unlink(missing_ok=True)
    env = {**os.environ, CHILD_ENV: "1"}  # PYTHONPATH as ./mwaa-local set it
    with open(log, "wb") as out:
        child = subprocess.Popen([sys.executable, "-m", "mwaa_local", *_child_argv(options)], env=env,
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=paths.ROOT)
    print(f"[up] starting in the background (pid {child.pid}; log {log})", flush=True)
    shown = 0
    while True:
        text = log.read_text(errors="replace")
        complete = text[:text.rfind("\n") + 1]
        if len(complete) > shown:
            _echo(complete[shown:])
            shown = len(complete)
        ready = _ready(child.pid)
        if ready is not None:
            if ready.get("password_generated"):
                login = credentials.read_login(supervisor.passwords_file())
                print(f"[up] login: {login.user} / {login.password} (generated once; kept in "
                      f"{supervisor.passwords_file()}, mode 600)")
            if ready.get("mlflow_password_generated"):
                from mwaa_local import mlflow_server

                kept = mlflow_server.default_state_dir() / "admin.json"
                print(f"[up] MLflow login: {mlflow_server.ADMIN} / {json.loads(kept.read_text())['password']} "
                      f"(generated once; kept in {kept}, mode 600)")
            return 0
        if child.poll() is not None:
            _echo(log.read_text(errors="replace")[shown:])
            return child.returncode or 1
        time.sleep(0.3)


def _echo(text: str) -> None:
    """The child's output as if it were ours: its one-line errors on stderr."""
    for line in text.splitlines():
        print(line, file=sys.stderr if line.startswith("error:") else sys.stdout, flush=True)


def _ready(pid: int) -> dict | None:
    try:
        ready = json.loads(supervisor.ready_file().read_text())
    except (OSError, ValueError):
        return None
    return ready if ready.get("pid") == pid else None
