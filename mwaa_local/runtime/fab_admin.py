"""The FAB auth manager's users as MWAA has them: FAB's built-in roles Admin, Op, User, Viewer (the roles MWAA maps
IAM principals to) and the local admin user, whose password is credentials.admin_login's.

`up` checks the metadata DB first (one SELECT and a password-hash check, no Airflow import); only when a role or the
admin is missing, the admin's password changed, or the FAB provider is not the one that last synced this DB (a
marker file), a child process builds FAB's app (~10 s of imports), syncs the roles and their permissions and creates
the admin or resets its password. The password reaches the child in its environment, never argv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mwaa_local import paths
from mwaa_local.errors import UserError

MWAA_ROLES = ("Admin", "Op", "User", "Viewer")
PASSWORD_FOR_CHILD = "MWAA_LOCAL_FAB_ADMIN_PASSWORD"


def _dsn(sql_alchemy_conn: str) -> str:
    return sql_alchemy_conn.replace("postgresql+psycopg2://", "postgresql://", 1)


def admin_is_current(sql_alchemy_conn: str, user: str, password: str) -> bool:
    """True if MWAA's roles exist and `user` is an active Admin whose password is `password`."""
    import psycopg2
    from werkzeug.security import check_password_hash

    try:
        conn = psycopg2.connect(_dsn(sql_alchemy_conn), connect_timeout=10)
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM ab_role")
            roles = {row[0] for row in cur.fetchall()}
            cur.execute("SELECT u.password FROM ab_user u JOIN ab_user_role ur ON ur.user_id = u.id "
                        "JOIN ab_role r ON r.id = ur.role_id WHERE u.username = %s AND u.active AND r.name = 'Admin'",
                        (user,))
            row = cur.fetchone()
    except psycopg2.Error:  # no FAB tables yet
        return False
    finally:
        conn.close()
    return set(MWAA_ROLES) <= roles and row is not None and bool(row[0]) and check_password_hash(row[0], password)


def _synced_by(sql_alchemy_conn: str) -> dict:
    from importlib.metadata import version

    return {"fab": version("apache-airflow-providers-fab"), "db": sql_alchemy_conn}


def ensure_admin(env: dict[str, str], user: str, password: str, log_file: Path, marker: Path,
                 timeout: float = 600) -> bool:
    """Makes the roles, their permissions and the admin current (see the module doc); True if the child ran."""
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    try:
        synced = json.loads(marker.read_text())
    except (OSError, ValueError):
        synced = {}
    if synced == _synced_by(url) and admin_is_current(url, user, password):
        return False
    log_file.parent.mkdir(parents=True, exist_ok=True)
    child_env = {**env, PASSWORD_FOR_CHILD: password, "PYTHONPATH": str(paths.ROOT)}
    with open(log_file, "ab") as log:
        try:
            done = subprocess.run([sys.executable, "-m", "mwaa_local.runtime.fab_admin", user], env=child_env,
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout,
                                  cwd=env["AIRFLOW_HOME"])
        except subprocess.TimeoutExpired as exc:
            raise UserError(f"creating the FAB admin user took over {timeout:.0f} s; see {log_file}") from exc
    if done.returncode != 0:
        raise UserError(f"creating the FAB admin user failed (exit {done.returncode}); see {log_file}")
    if not admin_is_current(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], user, password):
        raise UserError(f"the FAB admin user {user!r} is still not an Admin with the expected password; see {log_file}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(_synced_by(url)))
    return True


def _apply(user: str, password: str) -> None:
    """In the child: FAB's own security manager does the work, as `airflow users create/reset-password` would."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        manager = appbuilder.sm
        manager.sync_roles()
        missing = [name for name in MWAA_ROLES if manager.find_role(name) is None]
        if missing:
            raise SystemExit(f"FAB did not create the roles {', '.join(missing)}")
        admin = manager.find_role("Admin")
        found = manager.find_user(username=user)
        if found is None:
            if not manager.add_user(user, "Local", "Admin", f"{user}@mwaa-local.invalid", admin, password):
                raise SystemExit(f"FAB refused to create the user {user!r}")
            print(f"created the FAB user {user!r} with the role Admin")
            return
        manager.reset_password(found.id, password)
        found = manager.find_user(username=user)
        if admin not in found.roles or not found.active:
            found.roles = [*found.roles, admin] if admin not in found.roles else found.roles
            found.active = True
            manager.update_user(found)
        print(f"reset the password of the FAB user {user!r} (role Admin)")


if __name__ == "__main__":
    _apply(sys.argv[1], os.environ[PASSWORD_FOR_CHILD])
