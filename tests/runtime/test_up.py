"""`./mwaa-local up` end to end, from a clean environment as a user runs it: Airflow 3.3.1 behind a login, DAGs
parsed from the MWAA bucket, a run through the scheduler, and `down` leaving no process. Then the bad input:
a taken port, a second `up`, a DAG with an import error, a failing startup.sh."""

from __future__ import annotations

import json
import socket
import stat
import time
import urllib.error
import urllib.request

import psutil
import pytest

from mwaa_local.cloud import process
from tests.cli.conftest import assert_one_line_error

pytestmark = pytest.mark.timeout(1500)


def _http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, json.dumps(body).encode() if body else None, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _recorded_pids(state) -> set[int]:
    pids = set()
    for path in (state / "run").glob("*.json"):
        pid = json.loads(path.read_text())["pid"]
        pids.add(pid)
        try:
            pids.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        except psutil.Error:
            pass
    return pids


def _wait_gone(pids: set[int], seconds: float = 120) -> set[int]:
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}
        time.sleep(0.5)
    return alive


def test_up_runs_airflow_behind_a_login_and_down_leaves_nothing(cli, tmp_path):
    cloud_port, api_port, mlflow_port = process.free_port(), process.free_port(), process.free_port()
    api = f"http://127.0.0.1:{api_port}"
    script = tmp_path / "startup.sh"
    script.write_text("export AIRFLOW_HOME=/somewhere/else\nexport MY_FLAG=1\n")
    up = cli.run("up", "--detach", "--port", str(cloud_port), "--api-port", str(api_port),
                 "--mlflow-port", str(mlflow_port), "--startup-script", str(script), timeout=900)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "ready in" in up.stdout and "platform_self_check" in up.stdout
    assert f"MLflow UI: http://127.0.0.1:{mlflow_port}" in up.stdout  # the ML DAGs exist: MLflow is part of up
    assert "startup.sh: set MY_FLAG; refused AIRFLOW_HOME (protected" in up.stdout
    # The components (and the tasks the scheduler's LocalExecutor runs) see the export; the protected variable kept
    # its value. Not checked on the api-server: it retitles itself over its /proc environ (setproctitle).
    records = {p.stem: json.loads(p.read_text()) for p in (cli.state / "run").glob("airflow-*.json")}
    for name in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        environ = psutil.Process(records[name]["pid"]).environ()
        assert environ["MY_FLAG"] == "1" and environ["AIRFLOW_HOME"] == str(cli.state / "mwaa" / "airflow"), name
    passwords = cli.state / "mwaa" / "passwords.json"
    password = json.loads(passwords.read_text())["admin"]
    assert f"admin / {password}" in up.stdout  # generated, printed once
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600

    # The REST API requires a token, as the UI requires a login.
    assert _http("GET", f"{api}/api/v2/dags")[0] in (401, 403)
    assert _http("POST", f"{api}/auth/token", {"username": "admin", "password": "wrong"})[0] == 401
    status, answer = _http("POST", f"{api}/auth/token", {"username": "admin", "password": password})
    assert status == 201, status
    token = answer["access_token"]
    status, dags = _http("GET", f"{api}/api/v2/dags", token=token)
    assert status == 200 and {"platform_self_check", "retail_etl"} <= {d["dag_id"] for d in dags["dags"]}

    second = cli.run("up", "--detach", "--port", str(cloud_port), "--api-port", str(api_port), timeout=120)
    assert_one_line_error(second, 1, "already running", "down")

    # A DAG with an import error reaching $AIRFLOW_HOME/dags is reported; the environment keeps running.
    broken = cli.state / "mwaa" / "airflow" / "dags" / "broken_dag.py"
    broken.write_text("from airflow.sdk import dag\nimport no_such_module_anywhere\n")
    deadline, errors = time.monotonic() + 120, []
    while time.monotonic() < deadline and not errors:
        errors = [e for e in _http("GET", f"{api}/api/v2/importErrors", token=token)[1].get("import_errors", [])
                  if "broken_dag.py" in e["filename"]]
        time.sleep(1)
    assert errors and "no_such_module_anywhere" in errors[0]["stack_trace"]
    broken.unlink()

    unknown = cli.run("trigger", "no_such_dag", timeout=120)
    assert_one_line_error(unknown, 1, "DAG 'no_such_dag' not found", "platform_self_check")
    assert_one_line_error(cli.run("reset-db", timeout=120), 1, "is running", "down")

    run = cli.run("trigger", "platform_self_check", "--wait", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "check_environment" in run.stdout and run.stdout.strip().endswith("success")

    status_ = cli.run("status", timeout=120)
    assert status_.returncode == 0 and "scheduler      running" in status_.stdout, status_.stdout
    assert f"MLflow: running on http://127.0.0.1:{mlflow_port}" in status_.stdout, status_.stdout
    pids = _recorded_pids(cli.state)
    assert len(pids) >= 7  # up, 4 components, the cloud, PostgreSQL (and their children)
    down = cli.run("down", timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not _wait_gone(pids), "processes outlived down"
    assert list((cli.state / "run").glob("*.json")) == []
    assert cli.run("status", timeout=120).returncode == 3


def test_up_refuses_a_taken_port_before_starting_anything(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli.run("up", "--detach", "--port", str(process.free_port()), "--api-port", str(port), timeout=120)
    assert_one_line_error(done, 1, f"port {port} on 127.0.0.1 is taken", "--api-port")
    assert not list((cli.state / "run").glob("*.json"))


def test_a_failing_startup_script_leaves_nothing_started(cli, tmp_path):
    script = tmp_path / "startup.sh"
    script.write_text("export MY_FLAG=1\nexit 3\n")
    cloud_port = process.free_port()
    done = cli.run("up", "--detach", "--port", str(cloud_port), "--api-port", str(process.free_port()),
                   "--mlflow-port", str(process.free_port()), "--startup-script", str(script), timeout=600)
    assert_one_line_error(done, 1, "startup.sh exited with code 3", "nothing was started")
    assert "local cloud" in done.stdout  # it had started the cloud and PostgreSQL: both are gone again
    assert process.health(f"http://127.0.0.1:{cloud_port}") is None
    assert not [p for p in (cli.state / "run").glob("*.json")]
    assert not (cli.state / "postgres" / "postmaster.pid").exists()


def test_ctrl_c_stops_a_foreground_up_and_what_it_started(cli):
    import signal

    log = cli.state / "up-foreground.log"
    up = cli.popen("up", "--port", str(process.free_port()), "--api-port", str(process.free_port()),
                   "--mlflow-port", str(process.free_port()), log=log)
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and "ready in" not in log.read_text() and up.poll() is None:
            time.sleep(1)
        assert "ready in" in log.read_text(), log.read_text()
        pids = _recorded_pids(cli.state)
        up.send_signal(signal.SIGINT)  # what Ctrl-C sends (the entry script execs python: same process)
        assert up.wait(timeout=300) == 0, log.read_text()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(30)
    assert not _wait_gone(pids), "processes outlived Ctrl-C"
    assert list((cli.state / "run").glob("*.json")) == []


def test_trigger_without_a_running_environment_says_how_to_start_one(cli):
    assert_one_line_error(cli.run("trigger", "platform_self_check", timeout=120), 1, "not running", "up --detach")


def test_reset_db_empties_the_metadata_db(cli):
    import psycopg2

    from mwaa_local import postgres

    done = cli.run("reset-db", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    dsn = postgres.server_dsn(cli.postgres_port, "airflow")
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE leftover (x int)")
        conn.commit()
    finally:
        conn.close()
    assert cli.run("reset-db", timeout=300).returncode == 0
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
    assert cli.run("stop", timeout=120).returncode == 0
