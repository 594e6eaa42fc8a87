"""Upstream faults below HTTP, which a real server (``fake_upstream.py``) cannot produce.

``ResettingUpstream`` listens on loopback, reads each request whole, counts it, and then resets
the connection (TCP RST: ``SO_LINGER`` 0), either before sending anything or after the first bytes
of a 200 answer (the response head and one complete SSE event for a streaming request; the head
and the start of the JSON body otherwise). ``refused_base_url()`` names a port nobody listens on.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from typing import Literal

Fault = Literal["reset_before_response", "reset_after_first_byte"]

_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)
_JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n"
_FIRST_EVENT = (
    b'data: {"id":"chatcmpl-reset","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"fake-model","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},'
    b'"finish_reason":null}]}\n\n'
)


def refused_base_url() -> str:
    """A ``/v1`` base URL on a loopback port that was free a moment ago (connections refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _read_request(conn: socket.socket) -> bytes | None:
    """The body of one HTTP/1.1 request (``Content-Length`` framed), ``None`` if the peer left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return body


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class ResettingUpstream:
    """Counts requests (``requests``: their JSON bodies) and resets every connection."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.requests: list[object] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def start(self) -> ResettingUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> ResettingUpstream:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue  # e.g. a connection aborted while queued: keep serving
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            body = _read_request(conn)
            if body is None:
                conn.close()
                return
            try:
                parsed: object = json.loads(body) if body else None
            except ValueError:
                parsed = None
            with self._lock:
                self.requests.append(parsed)
            if self.fault == "reset_after_first_byte":
                streaming = isinstance(parsed, dict) and parsed.get("stream") is True
                if streaming:
                    conn.sendall(_SSE_HEAD + f"{len(_FIRST_EVENT):x}\r\n".encode() + _FIRST_EVENT)
                    conn.sendall(b"\r\n")
                else:
                    conn.sendall(_JSON_HEAD + b'{"id": "chatcmpl-reset", "choices": [')
                # NOTE: give the peer time to read the bytes: a reset discards unread data.
                self._stop.wait(0.2)
            _reset(conn)
        except OSError:
            conn.close()
