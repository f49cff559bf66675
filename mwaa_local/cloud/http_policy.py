"""Who may talk to the local cloud over HTTP. It holds a team's secrets and runs SQL and scripts with the user's
rights, so it answers only the clients it is meant for, and never a web page:

- Host: only the loopback names on the server's port (127.0.0.1, localhost and its subdomains for S3
  virtual-hosted buckets, [::1]), the address it listens on, and hosts added with --allowed-host / MWAA_LOCAL_CLOUD_ALLOWED_HOSTS. This defeats DNS rebinding (a page whose name
  resolves to 127.0.0.1 still sends its own name as Host).
- Origin: a request carrying an Origin header (browsers send it on every cross-origin request) is refused unless
  the origin is configured with --allowed-origin / MWAA_LOCAL_CLOUD_ALLOWED_ORIGINS (none by default). CORS headers
  are ours only: moto's blanket CORS (flask-cors, any origin) and S3 bucket CORS rules are stripped. A
  `Sec-Fetch-Site: cross-site` request without an allowed Origin (an <img> or link on another site) is refused too.
- Signatures: every AWS API call must be SigV4-signed (or presigned; S3's SigV2 forms too); with
  --verify-signatures / MWAA_LOCAL_CLOUD_VERIFY_SIGNATURES=1 the signature must also verify against the local
  credentials (test/test) or keys moto's IAM/STS issued.
- Admin routes: GET /_localcloud/health needs no signature; /_localcloud/faults needs a loopback Host and no Origin
  at all; moto's own /moto-api (reset, dashboard) is not served.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from werkzeug.wrappers import Response

from mwaa_local.cloud import aws_errors, sigv4
from mwaa_local.errors import UserError

HOSTS_ENV = "MWAA_LOCAL_CLOUD_ALLOWED_HOSTS"
ORIGINS_ENV = "MWAA_LOCAL_CLOUD_ALLOWED_ORIGINS"
VERIFY_ENV = "MWAA_LOCAL_CLOUD_VERIFY_SIGNATURES"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")
ADMIN_PREFIX = "/_localcloud/"
OPEN_ADMIN_PATHS = ("/_localcloud/health",)  # read-only, no signature needed
MOTO_API_PREFIX = "/moto-api"
CORS_METHODS = "GET, HEAD, PUT, POST, DELETE"
CORS_EXPOSED = "ETag, x-amz-request-id, x-amzn-RequestId, x-amz-version-id, x-amzn-ErrorType, Content-Length"
_ORIGIN = re.compile(r"^(https?)://([a-z0-9.\-]+|\[[0-9a-f:]+\])(:\d{1,5})?$")
_HOST = re.compile(r"^([a-z0-9.\-_]+|\[[0-9a-f:]+\])(:\d{1,5})?$")


class PolicyError(UserError):
    """A configured host or origin the policy cannot use (the CLI prints it as one line)."""


def split_host(host: str, default_port: int = 80) -> tuple[str, int]:
    """'localhost:4566' -> ('localhost', 4566); '[::1]:4566' -> ('[::1]', 4566); no port means HTTP's 80."""
    host = host.strip().lower()
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
        return name, int(port)
    return host, default_port


def _listed(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    return [value.strip() for value in values if value and value.strip()]


def _host_entry(entry: str, port: int) -> tuple[str, int]:
    entry = entry.strip().lower()
    if not _HOST.match(entry):
        raise PolicyError(f"allowed host {entry!r} is not a host name or host:port (e.g. local-cloud or "
                          "local-cloud:4566); no scheme or path")
    return split_host(entry, port)


def _origin_entry(entry: str) -> str:
    origin = entry.strip().lower().rstrip("/")
    if not _ORIGIN.match(origin) and origin != "null":
        raise PolicyError(f"allowed origin {entry!r} is not an origin: expected scheme://host[:port] "
                          "(e.g. http://localhost:3000), no path")
    return origin


@dataclass(frozen=True)
class HttpPolicy:
    port: int
    listen_host: str = "127.0.0.1"
    extra_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    verify_signatures: bool = False
    local_credentials: dict[str, str] = field(default_factory=dict)

    @classmethod
    def configure(cls, listen_host: str, port: int, allowed_hosts: Iterable[str] | None = None,
                  allowed_origins: Iterable[str] | None = None, verify_signatures: bool = False,
                  environ: dict | None = None) -> HttpPolicy:
        """The policy from CLI options plus the MWAA_LOCAL_CLOUD_* environment variables (both add up)."""
        from mwaa_local.cloud.client import DUMMY_CREDENTIALS

        environ = os.environ if environ is None else environ
        hosts = _listed(environ.get(HOSTS_ENV)) + _listed(allowed_hosts)
        origins = _listed(environ.get(ORIGINS_ENV)) + _listed(allowed_origins)
        for values, variable, check in ((environ.get(HOSTS_ENV), HOSTS_ENV, lambda h: _host_entry(h, port)),
                                        (environ.get(ORIGINS_ENV), ORIGINS_ENV, _origin_entry)):
            for value in _listed(values):
                try:
                    check(value)
                except PolicyError as exc:
                    raise PolicyError(f"{exc} (in {variable})") from None
        for host in hosts:
            _host_entry(host, port)
        verify = verify_signatures or environ.get(VERIFY_ENV, "").strip().lower() in ("1", "true", "yes", "on")
        return cls(port=port, listen_host=listen_host, extra_hosts=tuple(hosts),
                   allowed_origins=tuple(_origin_entry(o) for o in origins), verify_signatures=verify,
                   local_credentials={DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"]: DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]})

    # --- hosts ----------------------------------------------------------------------------------------------

    def loopback_hosts(self) -> set[tuple[str, int]]:
        return {(name, self.port) for name in LOOPBACK_NAMES}

    def allowed_hosts(self) -> set[tuple[str, int]]:
        hosts = self.loopback_hosts() | {_host_entry(entry, self.port) for entry in self.extra_hosts}
        if self.listen_host not in WILDCARD_ADDRESSES:
            name = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
            hosts.add((name.lower(), self.port))
        return hosts

    def host_allowed(self, host: tuple[str, int]) -> bool:
        """Also <bucket>.localhost, for S3 virtual-hosted addressing: browsers resolve *.localhost to loopback
        themselves, so no DNS rebinding can produce that name."""
        name, port = host
        return host in self.allowed_hosts() or (name.endswith(".localhost") and port == self.port)

    def _host_of(self, environ: dict) -> tuple[str, int]:
        return split_host(environ.get("HTTP_HOST", ""))

    def _shown(self, hosts: set[tuple[str, int]]) -> str:
        return ", ".join(sorted(f"{name}:{port}" for name, port in hosts))

    # --- the checks -----------------------------------------------------------------------------------------

    def refusal(self, environ: dict) -> Response | None:
        """The error response for a request this policy refuses, or None. Signatures are checked separately
        (`signature_refusal`) because verifying one needs the body."""
        host = environ.get("HTTP_HOST", "")
        if not self.host_allowed(self._host_of(environ)):
            return aws_errors.error_response(
                environ, 403, "AccessDenied",
                f"Host {host!r} is not allowed by the local cloud (protection against DNS rebinding); allowed: "
                f"{self._shown(self.allowed_hosts())}. To allow it, start the cloud with --allowed-host "
                f"{split_host(host)[0] or 'NAME'} or set {HOSTS_ENV}", "AccessDeniedException")
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and not self.origin_allowed(origin):
            return aws_errors.error_response(
                environ, 403, "AccessDenied",
                f"Origin {origin!r} is not allowed: the local cloud refuses browser requests from other sites. To "
                f"allow a web app, start the cloud with --allowed-origin {origin} or set {ORIGINS_ENV}",
                "AccessDeniedException")
        if origin is None and environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            return aws_errors.error_response(
                environ, 403, "AccessDenied", "cross-site browser requests are refused by the local cloud",
                "AccessDeniedException")
        path = environ.get("PATH_INFO", "")
        if path.startswith(MOTO_API_PREFIX):
            return aws_errors.error_response(
                environ, 404, "NotFound", "moto's /moto-api is not served by the local cloud: its reset and "
                "dashboard would bypass the local cloud's persistence; use --ephemeral or a fresh --state-dir")
        if path.startswith(ADMIN_PREFIX) and path not in OPEN_ADMIN_PATHS:
            if self._host_of(environ) not in self.loopback_hosts() or origin is not None:
                return aws_errors.error_response(
                    environ, 403, "AccessDenied",
                    f"{path} is an admin route: it answers only loopback hosts "
                    f"({self._shown(self.loopback_hosts())}) and never a browser (no Origin header)",
                    "AccessDeniedException")
        return None

    def signature_refusal(self, environ: dict, body: bytes | None) -> Response | None:
        """None when the request is signed (and, if configured, verified); else the AWS-shaped 403."""
        try:
            signature = sigv4.parse(environ)
            if self.verify_signatures:
                sigv4.verify(environ, body or b"", signature, self.secret_for)
        except sigv4.SignatureProblem as problem:
            return aws_errors.error_response(environ, 403, problem.code, problem.message, problem.json_code)
        return None

    def secret_for(self, access_key: str, token: str | None) -> str | None:
        if access_key in self.local_credentials and not token:
            return self.local_credentials[access_key]
        return _moto_issued_secret(access_key, token)

    # --- CORS -----------------------------------------------------------------------------------------------

    def origin_allowed(self, origin: str) -> bool:
        return origin.strip().lower().rstrip("/") in self.allowed_origins

    @staticmethod
    def is_preflight(environ: dict) -> bool:
        return (environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ORIGIN" in environ
                and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ)

    def preflight(self, environ: dict) -> Response:
        """Answers a preflight from an allowed origin (refusal() has already turned every other origin away)."""
        headers = self._cors_headers(environ["HTTP_ORIGIN"])
        headers["Access-Control-Allow-Methods"] = CORS_METHODS
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
        headers["Access-Control-Max-Age"] = "600"
        return Response(b"", 200, headers=headers)

    @staticmethod
    def _cors_headers(origin: str) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": CORS_EXPOSED,
                "Vary": "Origin"}

    def cors_start_response(self, environ: dict, start_response):
        """Wraps start_response: drops every Access-Control-* header a service set (moto's flask-cors allows any
        origin) and adds ours when the request came from an allowed origin."""
        origin = environ.get("HTTP_ORIGIN")
        ours = self._cors_headers(origin) if origin and self.origin_allowed(origin) else {}

        def wrapped(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")
                    and not (ours and k.lower() == "vary")]
            return start_response(status, kept + list(ours.items()), exc_info)

        return wrapped


def _moto_issued_secret(access_key: str, token: str | None) -> str | None:
    """Secrets of keys moto's STS (AssumeRole...) or IAM (CreateAccessKey) handed out in this process."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for by_partition in list(sts_backends.values()):
        for backend in list(by_partition.values()):
            for role in list(backend.assumed_roles):
                if role.access_key_id == access_key and role.session_token == token:
                    return role.secret_access_key
    if token:
        return None
    for by_partition in list(iam_backends.values()):
        for backend in list(by_partition.values()):
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key and key.status == "Active":
                        return key.secret_access_key
    return None
