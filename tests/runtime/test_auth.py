"""Login as on MWAA, through a real `up`: the FAB auth manager with MWAA's roles, the admin password from
MWAA_LOCAL_ADMIN_PASSWORD (kept mode 600, never printed), the REST API closed without a token, a Viewer that can
read but not trigger, the CLI's token client still working, and a changed password applied by the next `up`."""

from __future__ import annotations

import json
import stat
import subprocess

import pytest

from mwaa_local.cloud import process
from tests.cli.conftest import ENTRY, paths
from tests.runtime.test_up import _http

pytestmark = pytest.mark.timeout(1800)

ROLES = {"Admin", "Op", "User", "Viewer"}


def _up(cli, password: str, ports: dict[str, int]) -> subprocess.CompletedProcess:
    env = cli.env() | {"MWAA_LOCAL_ADMIN_PASSWORD": password}
    return subprocess.run([str(ENTRY), "up", "--detach", "--port", str(ports["cloud"]), "--api-port",
                           str(ports["api"]), "--no-mlflow"], cwd=paths.ROOT, env=env,
                          capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)


def _token(api: str, user: str, password: str) -> tuple[int, str | None]:
    status, answer = _http("POST", f"{api}/auth/token", {"username": user, "password": password})
    return status, answer.get("access_token")


def test_fab_login_roles_and_tokens(cli):
    ports = {"cloud": process.free_port(), "api": process.free_port()}
    api = f"http://127.0.0.1:{ports['api']}"
    chosen = "local-Admin-pw-1"
    up = _up(cli, chosen, ports)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "FAB auth manager: roles Admin, Op, User, Viewer; admin user created" in up.stdout
    assert chosen not in up.stdout + up.stderr  # chosen by the user: never printed
    passwords = cli.state / "mwaa" / "passwords.json"
    assert json.loads(passwords.read_text()) == {"admin": chosen}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600

    # No token, a wrong password: refused. The admin password gives a token that works.
    assert _http("GET", f"{api}/api/v2/dags")[0] == 401
    assert _http("POST", f"{api}/api/v2/dags/platform_self_check/dagRuns", {"logical_date": None})[0] == 401
    assert _token(api, "admin", "wrong")[0] == 401
    status, admin = _token(api, "admin", chosen)
    assert status == 201 and admin
    status, dags = _http("GET", f"{api}/api/v2/dags", token=admin)
    assert status == 200 and "platform_self_check" in {d["dag_id"] for d in dags["dags"]}
    status, roles = _http("GET", f"{api}/auth/fab/v1/roles", token=admin)
    assert status == 200 and ROLES <= {r["name"] for r in roles["roles"]}, roles

    # A Viewer (made by the admin through FAB's user API) reads but cannot trigger.
    status, _ = _http("POST", f"{api}/auth/fab/v1/users", {
        "username": "viewer1", "password": "viewer-pw-1", "email": "viewer1@example.invalid",
        "first_name": "View", "last_name": "Er", "roles": [{"name": "Viewer"}]}, token=admin)
    assert status in (200, 201), status
    status, viewer = _token(api, "viewer1", "viewer-pw-1")
    assert status == 201 and viewer
    assert _http("GET", f"{api}/api/v2/dags", token=viewer)[0] == 200
    assert _http("POST", f"{api}/api/v2/dags/platform_self_check/dagRuns", {"logical_date": None},
                 token=viewer)[0] == 403
    status, run = _http("POST", f"{api}/api/v2/dags/platform_self_check/dagRuns", {"logical_date": None},
                        token=admin)
    assert status == 200 and run["dag_id"] == "platform_self_check"

    # The CLI's REST client (trigger, deploy, InvokeRestApi use it) logs in with the kept password.
    trigger = cli.run("trigger", "platform_self_check", timeout=300)
    assert trigger.returncode == 0, trigger.stdout + trigger.stderr
    assert cli.run("down", timeout=300).returncode == 0

    # A new MWAA_LOCAL_ADMIN_PASSWORD: the next `up` resets the FAB user's password; the old one stops working.
    changed = "local-Admin-pw-2"
    again = _up(cli, changed, ports)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "airflow db migrate: skipped" in again.stdout
    assert "admin user created or its password set" in again.stdout
    assert _token(api, "admin", chosen)[0] == 401
    assert _token(api, "admin", changed)[0] == 201
    assert _token(api, "viewer1", "viewer-pw-1")[0] == 201  # other users are kept
    assert cli.run("down", timeout=300).returncode == 0


def test_an_unreachable_db_is_never_current_and_a_failed_admin_setup_is_one_clear_error(tmp_path):
    from mwaa_local.errors import UserError
    from mwaa_local.runtime import fab_admin, settings

    closed = f"postgresql+psycopg2://postgres@127.0.0.1:{process.free_port()}/airflow"
    assert not fab_admin.admin_is_current(closed, "admin", "pw")
    layout = settings.RuntimeLayout(tmp_path / "airflow", "http://127.0.0.1:1", closed, tmp_path / "passwords.json",
                                    {"jwt_secret": "x" * 64, "api_secret_key": "k", "fernet_key": ""})
    layout.airflow_home.mkdir()
    env = settings.component_environment(layout, "us-east-1", {})
    with pytest.raises(UserError, match="creating the FAB admin user failed .*fab-admin.log"):
        fab_admin.ensure_admin(env, "admin", "pw", tmp_path / "fab-admin.log", tmp_path / "fab-synced.json",
                               timeout=300)
    assert not (tmp_path / "fab-synced.json").exists()  # nothing recorded as synced
    assert "pw" not in (tmp_path / "fab-admin.log").read_text().split()  # the password stays out of the log
