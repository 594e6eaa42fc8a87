"""A stand-in for ``llama-server`` used as the supervised child in unit tests.

It accepts llama-server's command line, ignores everything but ``--port``/``--host``, and answers
``GET /health`` (503 for the first ``FAKE_LOADING_S`` seconds, like a loading model) and
``GET /v1/models`` on loopback, and ``POST /v1/chat/completions`` with a reply naming its
``--alias`` (so a test can tell which server a request reached). ``FAKE_EXIT_CODE`` makes it exit
at once, like a broken binary.
"""

from __future__ import annotations

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_STARTED = time.monotonic()
_ALIAS = sys.argv[sys.argv.index("--alias") + 1] if "--alias" in sys.argv else "fake"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body: dict[str, object]
        loading = time.monotonic() - _STARTED < float(os.environ.get("FAKE_LOADING_S", "0"))
        if self.path == "/health":
            status, body = (503, {"status": "loading"}) if loading else (200, {"status": "ok"})
        elif self.path == "/v1/models":
            status, body = 200, {"object": "list", "data": [{"id": "fake", "pid": os.getpid()}]}
        else:
            status, body = 404, {"error": "not found"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply = {"role": "assistant", "content": f"served by {_ALIAS}"}
        choice = {"index": 0, "message": reply, "finish_reason": "stop"}
        usage = {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}
        body = {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
                "model": _ALIAS, "choices": [choice], "usage": usage}  # fmt: skip
        data = json.dumps(body).encode()
        self.send_response(200 if self.path == "/v1/chat/completions" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write("fake-llama-server: " + format % args + "\n")


def main(argv: list[str]) -> None:
    if "FAKE_EXIT_CODE" in os.environ:
        sys.stdout.write("fake-llama-server: failing on purpose\n")
        sys.stdout.flush()
        sys.exit(int(os.environ["FAKE_EXIT_CODE"]))
    port = int(argv[argv.index("--port") + 1])
    host = argv[argv.index("--host") + 1]
    sys.stdout.write(f"fake-llama-server: listening on {host}:{port} args={argv}\n")
    sys.stdout.flush()
    ThreadingHTTPServer((host, port), _Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
