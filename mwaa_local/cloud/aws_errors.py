"""AWS-shaped error responses for requests the local cloud refuses before (or instead of) a service answers.

The shape follows the caller's protocol so botocore raises a ClientError with the right code: JSON protocols
(an X-Amz-Target header or a JSON content type) get {"__type", "message"} and x-amzn-ErrorType; everything else
(query protocol, S3's REST-XML) gets <ErrorResponse><Error>, which botocore's query and REST-XML parsers both read.
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response


def is_json_request(environ: dict) -> bool:
    return bool(environ.get("HTTP_X_AMZ_TARGET")) or "json" in environ.get("CONTENT_TYPE", "")


def error_response(environ: dict, status: int, code: str, message: str, json_code: str | None = None) -> Response:
    """`json_code` is the error's name in the JSON protocols when it differs (AWS suffixes many with Exception)."""
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id}
    if is_json_request(environ):
        code = json_code or code
        body = json.dumps({"__type": code, "message": message, "Message": message})
        return Response(body, status, content_type="application/x-amz-json-1.1",
                        headers={**headers, "x-amzn-ErrorType": code})
    sender = "Sender" if status < 500 else "Receiver"
    body = (f"<ErrorResponse><Error><Type>{sender}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return Response(body, status, content_type="text/xml", headers=headers)
