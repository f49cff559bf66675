"""The local environment's secrets, made once and kept in $AIRFLOW_HOME/../ (under .local/, mode 600): the admin
login (MWAA_LOCAL_ADMIN_PASSWORD, or generated and printed once) in the auth manager's passwords file, and the keys
every component must share (JWT secret for the API and task tokens, Fernet key for connections in the DB)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ADMIN_USER = "admin"
PASSWORD_ENV = "MWAA_LOCAL_ADMIN_PASSWORD"


def _write_private(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(data) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class Login:
    user: str
    password: str
    passwords_file: Path
    generated: bool  # True the one time a password was made up (then it is printed)


def admin_login(passwords_file: Path) -> Login:
    """The admin's password: MWAA_LOCAL_ADMIN_PASSWORD wins; else the one kept from before; else a new one."""
    kept = _read(passwords_file).get(ADMIN_USER)
    wanted = os.environ.get(PASSWORD_ENV) or kept
    generated = not wanted
    password = wanted or secrets.token_urlsafe(12)
    if password != kept or (passwords_file.stat().st_mode & 0o077 if passwords_file.exists() else True):
        _write_private(passwords_file, {ADMIN_USER: password})
    return Login(ADMIN_USER, password, passwords_file, generated)


def read_login(passwords_file: Path) -> Login | None:
    password = _read(passwords_file).get(ADMIN_USER)
    return Login(ADMIN_USER, password, passwords_file, False) if password else None


def shared_keys(keys_file: Path) -> dict[str, str]:
    """JWT secret, API secret key and Fernet key: made once, identical for every component and restart."""
    keys = _read(keys_file)
    if not {"jwt_secret", "api_secret_key", "fernet_key"} <= keys.keys() or len(keys["jwt_secret"]) < 64:
        from cryptography.fernet import Fernet

        keys = {"jwt_secret": secrets.token_urlsafe(64),  # >= 64 bytes: what HS512 wants
                "api_secret_key": secrets.token_urlsafe(32), "fernet_key": Fernet.generate_key().decode()}
        _write_private(keys_file, keys)
    return keys
