"""`./mwaa-local up`: checks first (a second `up`, port taken), then the services (MLflow, when the ML DAGs exist,
starts beside the rest), MWAA's bootstrap, `airflow db migrate`, the FAB admin user and the four components; waits until the UI answers and every DAG file is parsed; then keeps
the MWAA bucket and $AIRFLOW_HOME/dags in step with the working tree until Ctrl-C or SIGTERM (`down`). A failure
before ready ends everything this `up` started, so nothing is left half-started. If a component exits, `up` stops
the others and exits 1 (MWAA stops the container when one of its processes exits)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mwaa_local import bucket_sync, paths, pid_records
from mwaa_local.errors import UserError
from mwaa_local.runtime import (
    bootstrap,
    components,
    credentials,
    fab_admin,
    plugins,
    readiness,
    services,
    settings,
    update_requests,
)
from mwaa_local.runtime.api_client import ApiClient, ui_answers
from mwaa_local.runtime.settings import HOST, RuntimeLayout

POLL_S = 1.0
BUCKET_PULL_POLLS = 5  # the bucket's dags/ pulled every 5 polls (MWAA syncs continuously)
WATCHED = (paths.DAGS, paths.INCLUDE, paths.PLUGINS, paths.REQUIREMENTS, paths.STARTUP)


def root() -> Path:
    return paths.local_state() / "mwaa"


def logs_dir() -> Path:
    return root() / "logs"


def ready_file() -> Path:
    return root() / "ready.json"


def passwords_file() -> Path:
    return root() / "passwords.json"


def airflow_home() -> Path:
    return root() / "airflow"


class _Stop(Exception):
    """SIGTERM (from `down`) or Ctrl-C: stop cleanly."""


@dataclass
class UpOptions:
    cloud_port: int = 4566
    api_port: int = 8080
    dsn: str | None = None
    variables: dict = field(default_factory=dict)
    ready_timeout: float = 600
    startup_script: Path | None = None
    detached: bool = False  # running as the background child of `up --detach`
    mlflow_port: int = 5000
    mlflow: bool = True  # start MLflow when the ML DAGs exist (--no-mlflow: tests that need no MLflow)


_T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[up +{time.monotonic() - _T0:5.1f}s] {text}", flush=True)


def preflight(api_port: int) -> None:
    """Refuses before anything starts: a second `up`, leftovers of an earlier one, the UI port taken."""
    live = components.running()
    supervisor = live.get(components.SUPERVISOR)
    if supervisor:
        raise UserError(f"./mwaa-local up is already running (pid {supervisor.pid}, UI on http://{HOST}:"
                        f"{supervisor.port}); `./mwaa-local down` ends it")
    if live:
        names = ", ".join(f"{name} (pid {r.pid})" for name, r in sorted(live.items()))
        raise UserError(f"Airflow components of an earlier up still run: {names}; `./mwaa-local down` ends them")
    with socket.socket() as sock:
        # SO_REUSEADDR as the api-server sets it: a port in TIME_WAIT after a `down` is free; a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, api_port))
        except OSError as exc:
            raise UserError(f"port {api_port} on {HOST} is taken by another program ({exc.strerror}); free it or "
                            "pass --api-port with a free port") from exc


def _fingerprint() -> tuple:
    entries = []
    for top in WATCHED:
        for path in ([top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []):
            if path.is_file() and "__pycache__" not in path.parts:
                stat = path.stat()
                entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return "\n".join(text[-lines:])


class Supervisor:
    def __init__(self, options: UpOptions):
        self.options = options
        self.services: services.Services | None = None
        self.procs: dict = {}
        self.layout: RuntimeLayout | None = None
        self.started = time.monotonic()
        self.mlflow: threading.Thread | None = None
        self.mlflow_result: dict = {}  # "server" or "error", set by the MLflow thread

    def run(self) -> int:
        preflight(self.options.api_port)
        ready_file().unlink(missing_ok=True)
        pid_records.write(components.SUPERVISOR, os.getpid(), self.options.api_port, airflow_home(),
                          ["mwaa-local", "up"])
        # SIGINT too: a shell may start us with SIGINT ignored (a background job), and Ctrl-C must still stop us.
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        ready = False
        try:
            self._start()
            self._wait_ready()
            ready = True
            return self._watch()
        except (_Stop, KeyboardInterrupt):
            say("stopping")
            return 0 if ready else 130
        finally:
            self._stop_components()
            if self.mlflow is not None and self.mlflow.is_alive():
                # Still starting: end the recorded server until the thread gives up (it may record one later).
                from mwaa_local import mlflow_server

                deadline = time.monotonic() + 600
                while self.mlflow.is_alive() and time.monotonic() < deadline:
                    mlflow_server.stop()
                    self.mlflow.join(2)
            if "error" in self.mlflow_result:  # a server that died starting leaves its record behind
                services.forget_dead_mlflow()
            # Ctrl-C in the foreground or a failure before ready ends what this `up` started; `down` ends the rest.
            if self.services and (not ready or not self.options.detached):
                self.services.stop_started()
            ready_file().unlink(missing_ok=True)
            record = pid_records.read(components.SUPERVISOR)
            if record and record.pid == os.getpid():
                pid_records.remove(record)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, *_):
        raise _Stop()

    def _start(self) -> None:
        opts = self.options
        self.services = services.start(opts.cloud_port, opts.dsn, say)
        self.services.startup_script = opts.startup_script
        seeded = services.seed_secrets(self.services, opts.variables)
        say(f"Secrets Manager: {len(seeded)} connection/variable secret(s) under airflow/")
        deployed = self.services.deploy()
        say(f"deployed the working tree to s3://{self.services.bucket}/ ({len(deployed.uploaded)} uploaded, "
            f"{len(deployed.unchanged)} unchanged)")
        if self.options.mlflow and services.ml_dags():  # MLflow starts while Airflow bootstraps; ready waits for it
            self.mlflow = threading.Thread(target=self._start_mlflow, name="mlflow", daemon=True)
            self.mlflow.start()
        login = credentials.admin_login(passwords_file())
        self.login = login
        self.layout = RuntimeLayout(airflow_home(), self.services.endpoint_url, self.services.metadata_url,
                                    passwords_file(), credentials.shared_keys(root() / "keys.json"), opts.api_port)
        done = bootstrap.bootstrap(self.layout, self.services.s3(), self.services.bucket, self.services.region,
                                   root() / "bootstrap")
        for warning in done.requirements.warnings:
            say(f"warning: {warning}")
        say(f"requirements.txt: {done.requirements.already} satisfied"
            + (f", installed {', '.join(done.requirements.installed)}" if done.requirements.installed else ""))
        if done.startup:
            say(f"startup.sh: set {', '.join(sorted(done.startup.exported)) or 'nothing'}; refused "
                + (", ".join(f"{n} ({why})" for n, why in sorted(done.startup.refused.items())) or "nothing"))
        say(f"plugins.zip: {len(done.plugin_files)} file(s) in {self.layout.airflow_home / 'plugins'}; "
            f"dags: {len(done.dags.downloaded)} file(s) pulled into {self.layout.airflow_home / 'dags'}")
        self.env = done.env
        self.running = bootstrap.Wanted(self.services.bucket, dict(bootstrap.DEFAULT_KEYS), dict(done.versions))
        self.bucket_dags_seen = self._bucket_dags()  # what the bootstrap just pulled
        # The migration (and the admin user) without the startup script's exports, as on MWAA.
        base_env = settings.component_environment(self.layout, self.services.region, {})
        ran = components.migrate_unless_current(base_env, logs_dir() / "db-migrate.log", root() / "migrated.json")
        say("airflow db migrate: done" if ran else "airflow db migrate: skipped (the DB is at the revision this "
            "Airflow version migrated it to)")
        changed = fab_admin.ensure_admin(base_env, login.user, login.password, logs_dir() / "fab-admin.log",
                                         root() / "fab-synced.json")
        say(f"FAB auth manager: roles {', '.join(fab_admin.MWAA_ROLES)}; admin user "
            + ("created or its password set" if changed else "current"))
        for name in components.COMPONENTS:
            self.procs[name] = components.start(name, self.env, opts.api_port, logs_dir() / f"{name}.log")
        say(f"started {', '.join(f'{n} (pid {p.pid})' for n, p in self.procs.items())}; logs in {logs_dir()}")

    def _start_mlflow(self) -> None:
        try:
            server = services.start_mlflow(self.services, self.options.mlflow_port)
        except BaseException as exc:  # reported by the main thread
            self.mlflow_result["error"] = exc
            return
        self.mlflow_result["server"] = server
        say(f"MLflow: {server.url} ({'started' if server.pid else 'already running'})")

    def _mlflow_server(self):
        """Waits for the MLflow thread; its failure is up's failure."""
        if self.mlflow is None:
            return None
        self.mlflow.join()
        if "error" in self.mlflow_result:
            error = self.mlflow_result["error"]
            raise error if isinstance(error, UserError) else UserError(f"MLflow did not start: {error}")
        return self.mlflow_result["server"]

    def _check_components(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = logs_dir() / f"{name}.log"
                raise UserError(f"airflow {name} exited with code {proc.returncode}: {_tail(log)[:300]} (log: {log})")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        client, last = None, None
        while time.monotonic() < deadline:
            self._check_components()
            if client is None and ui_answers(self.layout.api_url):
                client = ApiClient.login(self.layout.api_url, self.login.user, self.login.password)
                say(f"UI answers on {self.layout.api_url} after {time.monotonic() - self.started:.1f} s")
            if client is not None:
                state = readiness.parse_state(client, self.layout.airflow_home / "dags")
                if not state.pending:
                    self._announce(state)
                    return
                if state.pending != last:
                    say(f"waiting for the dag-processor to parse: {', '.join(sorted(state.pending))}")
                    last = state.pending
            time.sleep(POLL_S)
        raise UserError(f"Airflow was not ready within {self.options.ready_timeout:.0f} s; see the logs in {logs_dir()}")

    def _announce(self, state: readiness.ParseState) -> None:
        from mwaa_local import mlflow_server

        mlflow = self._mlflow_server()
        seconds = time.monotonic() - self.started
        say(f"ready in {seconds:.1f} s: UI {self.layout.api_url} ; DAGs: {', '.join(sorted(state.dags)) or 'none'}")
        for filename, trace in sorted(state.import_errors.items()):
            say(f"import error in {filename}: {trace.splitlines()[-1] if trace else '?'}")
        if self.login.generated and not self.options.detached:
            say(f"login: {self.login.user} / {self.login.password} (generated once; kept in {passwords_file()}, mode 600)")
        else:
            say(f"login: {self.login.user}, password in {passwords_file()} (mode 600; MWAA_LOCAL_ADMIN_PASSWORD sets it)")
        mlflow_new_password = False
        if mlflow is not None:
            kept = mlflow_server.default_state_dir() / "admin.json"
            mlflow_new_password = not mlflow.password_shown
            if mlflow_new_password and not self.options.detached:
                say(f"MLflow UI: {mlflow.url} ; login: {mlflow.username} / {mlflow.password} (generated once; kept "
                    f"in {kept}, mode 600)")
            else:
                say(f"MLflow UI: {mlflow.url} ; login: {mlflow.username}, password in {kept} (mode 600)")
            if mlflow_new_password:
                mlflow_server.mark_password_shown()
        say("Ctrl-C stops Airflow" if not self.options.detached else "`./mwaa-local down` stops everything")
        tmp = ready_file().with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "api_url": self.layout.api_url, "seconds": seconds,
                                   "dags": state.dags, "import_errors": sorted(state.import_errors),
                                   "password_generated": self.login.generated,
                                   "mlflow_url": mlflow.url if mlflow else None,
                                   "mlflow_password_generated": mlflow_new_password}))
        os.replace(tmp, ready_file())

    def _watch(self) -> int:
        fingerprint, polls = _fingerprint(), 0
        while True:
            time.sleep(POLL_S)
            polls += 1
            try:
                self._check_components()
                request = update_requests.take(root())
                if request is not None:
                    self._apply_update(request)
            except UserError as exc:
                say(f"error: {exc}; stopping the other components")
                return 1
            current = _fingerprint()
            if current != fingerprint:
                fingerprint = current
                self._resync()
            elif polls % BUCKET_PULL_POLLS == 0:
                self._pull_dags()

    def _pull_dags(self) -> None:
        """The bucket's dags/ into $AIRFLOW_HOME/dags when the bucket's dags/ changed, as MWAA keeps syncing it (a
        deploy from elsewhere lands). Only on a change: a file put straight into $AIRFLOW_HOME/dags stays until then."""
        try:
            seen = self._bucket_dags()
            if seen == self.bucket_dags_seen:
                return
            self.bucket_dags_seen = seen
            pulled = bucket_sync.pull_dags(self.services.s3(), self.running.bucket, self.layout.airflow_home / "dags")
        except Exception as exc:  # noqa: BLE001 - the cloud restarting must not end `up`; the next poll retries
            say(f"dags sync from the bucket skipped: {exc}")
            return
        if pulled.changed:
            say(f"synced from s3://{self.running.bucket}/dags/: "
                + ", ".join([f"+{f}" for f in pulled.downloaded] + [f"-{f}" for f in pulled.removed]))

    def _bucket_dags(self) -> tuple:
        s3 = self.services.s3()
        return tuple((o["Key"], o["ETag"]) for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.running.bucket, Prefix="dags/") for o in page.get("Contents", []))

    def _apply_update(self, request: update_requests.UpdateRequest) -> None:
        """UpdateEnvironment of the local MWAA API: MWAA's bootstrap again at the requested object versions, then
        the components restarted on it. requirements.txt and startup.sh run first, while the components keep
        running: if either fails, they keep running the previous version and the error goes back (UPDATE_FAILED)."""
        wanted = bootstrap.Wanted(request.bucket, {**self.running.keys, **request.keys},
                                  {**self.running.versions, **request.versions})
        if wanted == self.running:
            say(f"UpdateEnvironment {request.environment}: runs these object versions already; nothing to restart")
            update_requests.answer(root(), update_requests.UpdateResult(request.id))
            return
        say(f"UpdateEnvironment {request.environment}: bootstrapping "
            + ", ".join(f"{wanted.keys[r]}@{v}" for r, v in sorted(wanted.versions.items()) if r in wanted.keys))
        work = root() / "bootstrap-update"
        shutil.rmtree(work, ignore_errors=True)
        try:
            prepared = bootstrap.prepare(self.layout, self.services.s3(), wanted, self.services.region, work)
        except Exception as exc:  # noqa: BLE001 - any failure here (uv, startup.sh, S3) fails the update, not `up`
            say(f"update failed; the components keep running the previous version: {exc}")
            update_requests.answer(root(), update_requests.UpdateResult(request.id, str(exc)))
            return
        for warning in prepared.requirements.warnings:
            say(f"warning: {warning}")
        self._stop_components()
        done = bootstrap.apply(prepared, self.layout, self.services.s3(), self.services.region)
        self.env, self.running = done.env, wanted
        self.running.versions = dict(done.versions)
        for name in components.COMPONENTS:
            self.procs[name] = components.start(name, self.env, self.options.api_port, logs_dir() / f"{name}.log")
        self.started = time.monotonic()
        try:
            self._wait_ready()
        except UserError as exc:
            update_requests.answer(root(), update_requests.UpdateResult(request.id, str(exc), restarted=True))
            raise
        update_requests.answer(root(), update_requests.UpdateResult(request.id, restarted=True))

    def _resync(self) -> None:
        """Working tree -> MWAA bucket -> $AIRFLOW_HOME, as a deploy and MWAA's sync would."""
        try:
            deployed: bucket_sync.SyncResult = self.services.deploy()
            pulled = bucket_sync.pull_dags(self.services.s3(), self.services.bucket, self.layout.airflow_home / "dags")
        except (UserError, OSError) as exc:
            say(f"sync skipped: {exc}")
            return
        if "plugins.zip" in deployed.uploaded:
            archive = self.services.s3().get_object(Bucket=self.services.bucket, Key="plugins.zip")["Body"].read()
            plugins.extract(archive, self.layout.airflow_home / "plugins")
            say("plugins.zip changed: extracted; components load plugins at start (restart `up` to apply everywhere)")
        for key in ("requirements.txt", "startup.sh"):
            if key in deployed.uploaded:
                say(f"{key} changed: uploaded; it applies when `up` starts again (as MWAA applies it on update)")
        if pulled.changed:
            say(f"synced into {self.layout.airflow_home / 'dags'}: "
                + ", ".join([f"+{f}" for f in pulled.downloaded] + [f"-{f}" for f in pulled.removed]))

    def _stop_components(self) -> None:
        """All at once (each with its process group and children): SIGTERM, SIGKILL after 15 s."""
        from concurrent.futures import ThreadPoolExecutor

        records = [r for r in (pid_records.read(components.RECORD_PREFIX + n) for n in self.procs) if r]
        live = [p for p in (r.process() for r in records) if p is not None]
        with ThreadPoolExecutor(max_workers=len(live) or 1) as pool:
            list(pool.map(lambda proc: pid_records.terminate_tree(proc, timeout=15), live))
        for record in records:
            pid_records.remove(record)
        self.procs.clear()
