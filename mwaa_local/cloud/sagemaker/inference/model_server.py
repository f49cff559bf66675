"""An endpoint's model server: GET /ping, POST /invocations, on 127.0.0.1:<port> (argv[1]).

Status codes as the inference toolkit gives them: 415 unsupported content type, 406 unsupported accept, 400 with
the handler's error (the local cloud turns it into ModelError). It prints READY once the model is loaded."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handlers  # noqa: E402 - this folder is put on the path first


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write, without Nagle: otherwise delayed ACKs add ~40 ms to every answer.
    wbufsize = -1
    disable_nagle_algorithm = True
    model: handlers.Handlers

    def log_message(self, *args) -> None:  # the cloud logs invocations itself
        pass

    def _send(self, status: int, body: bytes, mime: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/ping":
            self._send(200, b"")
        else:
            self._send(404, b"not found")

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/invocations":
            self._send(404, b"not found")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            output, mime = self.model.invoke(body, self.headers.get("Content-Type"), self.headers.get("Accept"))
        except handlers.UnsupportedContentType as exc:
            self._send(415, str(exc).encode())
        except handlers.UnsupportedAccept as exc:
            self._send(406, str(exc).encode())
        except handlers.ModelError as exc:
            print(f"invocation failed: {exc}", file=sys.stderr, flush=True)
            self._send(400, str(exc).encode())
        else:
            self._send(200, output, mime)


def main(port: int) -> None:
    Handler.model = handlers.from_environment()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"READY on port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
