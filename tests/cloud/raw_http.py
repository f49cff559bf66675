"""Raw HTTP to the local cloud (http.client), optionally SigV4-signed with botocore, for tests that need requests no
SDK would send: foreign Host or Origin headers, unsigned or malformed calls, bodies that are not JSON."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDENTIALS = Credentials("test", "test")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        if self.headers.get("content-type", "").startswith("application/x-amz-json"):
            return self.json().get("__type")
        text = self.body.decode(errors="replace")
        return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else None


def signed_headers(endpoint_url: str, method: str, path: str, body: bytes, service: str, headers: dict | None = None,
                   credentials: Credentials = CREDENTIALS, region: str = "us-east-1") -> dict[str, str]:
    request = AWSRequest(method=method, url=endpoint_url + path, data=body, headers=dict(headers or {}))
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


def send(endpoint_url: str, method: str, path: str = "/", body: bytes = b"", headers: dict | None = None,
         host: str | None = None, timeout: float = 60) -> Reply:
    """Sends exactly these headers; `host` overrides the Host header (None: the endpoint's)."""
    parts = urlsplit(endpoint_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", parts.netloc if host is None else host)
        for name, value in (headers or {}).items():
            if name.lower() != "host":
                connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def json_call(endpoint_url: str, service: str, target: str, body: bytes | dict, extra: dict | None = None,
              host: str | None = None, sign: bool = True) -> Reply:
    """One AWS JSON-protocol call (X-Amz-Target), signed for `service` unless sign=False."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    if sign:
        headers = signed_headers(endpoint_url, "POST", "/", data, service, headers)
    return send(endpoint_url, "POST", "/", data, {**headers, **(extra or {})}, host=host)
