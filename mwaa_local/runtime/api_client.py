"""The local Airflow REST API with a token from POST /auth/token, as every API client of MWAA's Airflow must."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from mwaa_local.errors import UserError


class ApiError(UserError):
    def __init__(self, status: int, method: str, path: str, detail: str):
        super().__init__(f"{method} {path} -> HTTP {status}: {detail[:300]}")
        self.status = status


def _call(method: str, url: str, body: dict | None, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json",
                                              **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def ui_answers(base_url: str, timeout: float = 2) -> bool:
    try:
        status, _ = _call("GET", base_url + "/api/v2/monitor/health", None, {}, timeout)
    except (urllib.error.URLError, OSError):
        return False
    return status == 200


class ApiClient:
    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url, token

    @classmethod
    def login(cls, base_url: str, user: str, password: str, timeout: float = 30) -> ApiClient:
        try:
            status, text = _call("POST", base_url + "/auth/token", {"username": user, "password": password}, {},
                                 timeout)
        except (urllib.error.URLError, OSError) as exc:
            raise UserError(f"the Airflow API at {base_url} does not answer ({exc}); start it with ./mwaa-local up") from exc
        if status not in (200, 201):
            raise ApiError(status, "POST", "/auth/token", text)
        return cls(base_url, json.loads(text)["access_token"])

    def request(self, method: str, path: str, body: dict | None = None, query: dict | None = None,
                timeout: float = 30) -> dict:
        url = self.base_url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        try:
            status, text = _call(method, url, body, {"Authorization": f"Bearer {self.token}"}, timeout)
        except (urllib.error.URLError, OSError) as exc:
            raise UserError(f"the Airflow API at {self.base_url} does not answer ({exc})") from exc
        if status >= 400:
            raise ApiError(status, method, path, text)
        return json.loads(text) if text else {}

    def all_pages(self, path: str, key: str, page: int = 100) -> list[dict]:
        items, offset = [], 0
        while True:
            answer = self.request("GET", path, query={"limit": page, "offset": offset})
            items += answer.get(key, [])
            offset += page
            if offset >= answer.get("total_entries", 0):
                return items
