"""Request signatures: the structure every AWS call must carry, and (opt-in) verification with botocore's signers.

Accepted forms, as the SDKs send them: an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
Signature=...` header; a SigV4 presigned query (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature); and S3's
SigV2 forms (`Authorization: AWS key:sig`, and the AWSAccessKeyId/Signature/Expires presigned query that boto3's
`generate_presigned_url` still produces for S3 in us-east-1). Verification recomputes the signature with
botocore's own SigV4/HmacV1 code (no crypto of ours) from the request as it arrived on the wire.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SIGV4_TIMESTAMP, HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
_V4_HEADER = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,"
                        r"\s*Signature=([0-9a-fA-F]{64})\s*$")
_V2_HEADER = re.compile(r"^AWS ([^:\s]+):(\S+)$")
HOW_TO_SIGN = ("sign requests with any AWS SDK or the AWS CLI (any credentials work unless the local cloud verifies "
               "signatures, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test)")


class SignatureProblem(Exception):
    """Why a request's authentication is refused: `code` for XML protocols, `json_code` for JSON ones (HTTP 403)."""

    def __init__(self, code: str, json_code: str, message: str):
        super().__init__(message)
        self.code, self.json_code, self.message = code, json_code, message


@dataclass(frozen=True)
class Signature:
    form: str  # "v4-header" | "v4-query" | "v2-header" | "v2-query"
    access_key: str
    signature: str
    service: str | None = None  # SigV4 credential scope
    region: str | None = None
    scope_date: str | None = None
    signed_headers: tuple[str, ...] = ()


def _incomplete(message: str) -> SignatureProblem:
    return SignatureProblem("IncompleteSignature", "IncompleteSignatureException", message)


def _scope(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]) or not all(parts[:4]):
        raise _incomplete(f"malformed SigV4 credential {credential!r}: expected "
                          "<access key>/<YYYYMMDD>/<region>/<service>/aws4_request")
    return parts[0], parts[1], parts[2], parts[3]


def parse(environ: dict) -> Signature:
    """The request's signature, structurally checked; raises SignatureProblem when it has none or a malformed one."""
    auth = environ.get("HTTP_AUTHORIZATION", "").strip()
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if auth.startswith(ALGORITHM):
        match = _V4_HEADER.match(auth)
        if not match:
            raise _incomplete("malformed Authorization header: expected 'AWS4-HMAC-SHA256 Credential=..., "
                              "SignedHeaders=..., Signature=<64 hex digits>'")
        access_key, date, region, service = _scope(match.group(1))
        signed = tuple(match.group(2).lower().split(";"))
        if "host" not in signed:
            raise _incomplete("the Host header must be among the SignedHeaders")
        if not (environ.get("HTTP_X_AMZ_DATE") or environ.get("HTTP_DATE")):
            raise _incomplete("a SigV4-signed request needs an X-Amz-Date (or Date) header")
        return Signature("v4-header", access_key, match.group(3).lower(), service, region, date, signed)
    if auth.startswith("AWS "):
        match = _V2_HEADER.match(auth)
        if not match:
            raise _incomplete("malformed Authorization header: expected 'AWS <access key>:<signature>'")
        return Signature("v2-header", match.group(1), match.group(2))
    if auth:
        raise _incomplete(f"unsupported Authorization scheme {auth.split()[0]!r}: {HOW_TO_SIGN}")
    if "X-Amz-Signature" in query or "X-Amz-Credential" in query or "X-Amz-Algorithm" in query:
        missing = [k for k in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
                               "X-Amz-Signature") if not query.get(k)]
        if missing:
            raise _incomplete(f"presigned URL is missing {', '.join(missing)}")
        if query["X-Amz-Algorithm"] != ALGORITHM:
            raise _incomplete(f"unsupported X-Amz-Algorithm {query['X-Amz-Algorithm']!r}; expected {ALGORITHM}")
        access_key, date, region, service = _scope(query["X-Amz-Credential"])
        signed = tuple(query["X-Amz-SignedHeaders"].lower().split(";"))
        return Signature("v4-query", access_key, query["X-Amz-Signature"].lower(), service, region, date, signed)
    if "Signature" in query and "AWSAccessKeyId" in query:
        if not query.get("Expires", "").isdigit():
            raise _incomplete("presigned URL needs a numeric Expires")
        return Signature("v2-query", query["AWSAccessKeyId"], query["Signature"])
    raise SignatureProblem("MissingAuthenticationToken", "MissingAuthenticationTokenException",
                           f"Request is missing Authentication Token: the local cloud only serves signed AWS API "
                           f"calls; {HOW_TO_SIGN}")


# --- verification -----------------------------------------------------------------------------------------------

def _header(environ: dict, name: str) -> str | None:
    if name in ("content-type", "content-length"):
        return environ.get(name.upper().replace("-", "_"))
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


def _raw_target(environ: dict) -> str:
    """Path and query exactly as the client sent them (WSGI's PATH_INFO is already percent-decoded)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw if raw.startswith("/") else urlsplit(raw).path + ("?" + urlsplit(raw).query if "?" in raw else "")
    query = environ.get("QUERY_STRING", "")
    return environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")


def _without_params(target: str, names: set[str]) -> str:
    path, _, query = target.partition("?")
    kept = [pair for pair in query.split("&") if pair and pair.partition("=")[0] not in names]
    return path + ("?" + "&".join(kept) if kept else "")


def _mismatch() -> SignatureProblem:
    return SignatureProblem("SignatureDoesNotMatch", "InvalidSignatureException",
                            "The request signature we calculated does not match the signature you provided. Check "
                            "your AWS Secret Access Key and signing method (the local cloud verifies signatures)")


def verify(environ: dict, body: bytes, signature: Signature,
           secret_for: Callable[[str, str | None], str | None], now: float | None = None) -> None:
    """Raises SignatureProblem unless the request is signed with a secret `secret_for(access key, token)` knows."""
    token = _header(environ, "x-amz-security-token") or dict(
        parse_qsl(environ.get("QUERY_STRING", ""))).get("X-Amz-Security-Token")
    secret = secret_for(signature.access_key, token)
    if secret is None:
        raise SignatureProblem("InvalidClientTokenId", "UnrecognizedClientException",
                               f"The security token included in the request is invalid: access key "
                               f"{signature.access_key!r} is not a credential of the local cloud (use "
                               "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test, or keys it issued)")
    credentials = Credentials(signature.access_key, secret, token)
    now = time.time() if now is None else now
    if signature.form.startswith("v4"):
        expected = _v4_signature(environ, body, signature, credentials, now)
    else:
        expected = _v2_signature(environ, signature, credentials, now)
    if not hmac.compare_digest(expected.encode(), signature.signature.encode()):
        raise _mismatch()


def _expired(message: str) -> SignatureProblem:
    return SignatureProblem("AccessDenied", "AccessDeniedException", message)


def _v4_signature(environ: dict, body: bytes, signature: Signature, credentials: Credentials, now: float) -> str:
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    presigned = signature.form == "v4-query"
    timestamp = query.get("X-Amz-Date") if presigned else _header(environ, "x-amz-date")
    if not timestamp and not presigned:
        timestamp = parsedate_to_datetime(_header(environ, "date")).strftime(SIGV4_TIMESTAMP)
    try:
        signed_at = calendar.timegm(dt.datetime.strptime(timestamp, SIGV4_TIMESTAMP).timetuple())
    except (TypeError, ValueError):
        raise _incomplete(f"malformed X-Amz-Date {timestamp!r}: expected YYYYMMDDTHHMMSSZ") from None
    if presigned and query.get("X-Amz-Expires", "").isdigit() and now > signed_at + int(query["X-Amz-Expires"]):
        raise _expired("Request has expired (presigned URL past X-Amz-Date + X-Amz-Expires)")
    target = _without_params(_raw_target(environ), {"X-Amz-Signature"}) if presigned else _raw_target(environ)
    headers = {name: _header(environ, name) or "" for name in signature.signed_headers}
    if not presigned and _header(environ, "x-amz-content-sha256"):
        headers["x-amz-content-sha256"] = _header(environ, "x-amz-content-sha256")
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=f"http://{headers['host']}{target}",
                         headers=headers, data=b"" if presigned else body)
    request.context["timestamp"] = timestamp
    s3 = signature.service == "s3"
    signer_class = (S3SigV4QueryAuth if s3 else SigV4QueryAuth) if presigned else (S3SigV4Auth if s3 else SigV4Auth)
    signer = signer_class(credentials, signature.service, signature.region)
    canonical_request = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical_request), request)


class _HmacV1AtDate(HmacV1Auth):
    """botocore's S3 SigV2 signer, with the date (or presigned Expires) the request was signed with."""

    def __init__(self, credentials: Credentials, date: str):
        super().__init__(credentials)
        self._date = date

    def _get_date(self) -> str:
        return self._date


def _v2_signature(environ: dict, signature: Signature, credentials: Credentials, now: float) -> str:
    if signature.form == "v2-query":
        expires = dict(parse_qsl(environ.get("QUERY_STRING", "")))["Expires"]
        if now > int(expires):
            raise _expired("Request has expired (presigned URL past its Expires)")
        date = expires
    else:
        date = _header(environ, "date") or ""
    headers = HTTPHeaders()
    for name in ("content-md5", "content-type"):
        if _header(environ, name):
            headers[name] = _header(environ, name)
    for key, value in environ.items():
        if key.startswith("HTTP_X_AMZ_"):
            headers[key[5:].replace("_", "-").lower()] = value
    signer = _HmacV1AtDate(credentials, date)
    split = urlsplit("http://local" + _raw_target(environ))
    return signer.sign_string(signer.canonical_string(environ["REQUEST_METHOD"], split, headers))
