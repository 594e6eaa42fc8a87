"""The connection edge on a real server (``proxy.server`` in a thread, raw sockets): the header
cap answers 431 before auth, trickled headers and bodies are cut by deadlines (408), and a client
that leaves mid-body is one ``client_disconnected`` log event without a traceback.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from proxy.app import create_app
from proxy.server.config import ServerLimits
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply
from tests.servers import ServerThread

KEY = "sk-edge-test"
LIMIT = 4096
TIMEOUT_S = 1.0
GRACE_S = 4.0  # scheduling slack on a loaded machine; the deadline itself is TIMEOUT_S
CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log event of the test, the server thread's included."""
    structlog.reset_defaults()
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured
    structlog.reset_defaults()


@pytest.fixture
def server(
    fake_upstream: FakeUpstream, logs: list[MutableMapping[str, Any]]
) -> Iterator[ServerThread]:
    settings = Settings(
        upstream_api_base=fake_upstream.base_url,
        upstream_retries=0,
        sstar_mode="off",
        api_keys=KEY,
        max_header_bytes=LIMIT,
        client_read_timeout_s=TIMEOUT_S,
    )
    with ServerThread(create_app(settings), limits=ServerLimits.from_settings(settings)) as thread:
        yield thread


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _padded_head(size: int, headers: dict[str, str]) -> bytes:
    """A request head of exactly ``size`` bytes (request line and headers, final CRLF included)."""
    base = _head("/v1/models", {**headers, "x-pad": ""})
    head = _head("/v1/models", {**headers, "x-pad": "p" * (size - len(base))})
    assert len(head) == size
    return head


def _exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def _response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def test_headers_past_the_cap_get_431_before_auth(server):
    # no key and an oversized header: the answer is the 431, not the 401
    response = httpx.get(f"{server.url}/v1/models", headers={"x-big": "b" * (LIMIT + 10)})
    assert response.status_code == 431
    assert response.headers["connection"] == "close"
    assert response.headers["x-should-retry"] == "false"
    assert response.json() == {
        "error": {
            "message": f"Request headers too large: the request line and headers may total "
            f"{LIMIT} bytes.",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_header_fields_too_large",
        }
    }


def test_the_cap_counts_the_whole_head_to_the_byte(server):
    auth = {"host": "t", "authorization": f"Bearer {KEY}"}
    status, _, _ = _response(
        _exchange(server.port, _padded_head(LIMIT, auth | {"connection": "close"}))
    )
    assert status == 200
    status, headers, _ = _response(_exchange(server.port, _padded_head(LIMIT + 1, auth)))
    assert (status, headers["connection"]) == (431, "close")


def test_a_pipelined_request_past_the_cap_is_never_served(server):
    # both heads in one write: the second one's first bytes come with the first request, so the
    # byte count misses them and the exact size at the end of its headers is what refuses it
    auth = {"host": "t", "authorization": f"Bearer {KEY}"}
    raw = _exchange(server.port, _head("/v1/models", auth) + _padded_head(LIMIT + 100, auth))
    status, _, rest = _response(raw)
    assert status == 200
    later = rest.split(b"HTTP/1.1 ")[1:]  # a 431, or nothing when the first answer was in flight
    assert [answer[:3] for answer in later] in ([], [b"431"])


def test_many_headers_count_like_one_big_one(server):
    headers = {f"x-h{i}": "v" * 40 for i in range(LIMIT // 40)}
    response = httpx.get(f"{server.url}/v1/models", headers=headers)
    assert response.status_code == 431


def test_a_keep_alive_connection_gets_a_fresh_budget_per_request(server):
    auth = {"authorization": f"Bearer {KEY}", "x-pad": "p" * (LIMIT // 2)}
    with httpx.Client(base_url=server.url) as client:
        for _ in range(4):  # together far past the cap; each alone under it
            assert client.get("/v1/models", headers=auth).status_code == 200


def _trickle(port: int, opening: bytes, byte: bytes, *, seconds: float) -> tuple[bytes, float]:
    """Send ``opening``, then ``byte`` every 0.1 s until the server answers and closes (or
    ``seconds`` pass); returns what came back and when the answer began, from the first byte."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        started = time.monotonic()
        sock.sendall(opening)
        answered_at = None
        received = b""
        while time.monotonic() - started < seconds:
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answered_at = answered_at or time.monotonic() - started
                received += chunk
            elif answered_at is None:
                sock.sendall(byte)
        return received, answered_at if answered_at is not None else float("inf")


def test_trickled_headers_are_cut_at_the_deadline_not_at_idle(server):
    # one byte every 0.1 s: an idle timer would never fire
    received, answered_at = _trickle(
        server.port, b"GET /v1/models HTTP/1.1\r\nhost: t\r\n", b"x", seconds=TIMEOUT_S + GRACE_S
    )
    assert TIMEOUT_S - 0.1 <= answered_at <= TIMEOUT_S + GRACE_S
    status, headers, body = _response(received)
    assert (status, headers["connection"]) == (408, "close")
    error = json.loads(body)["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_timeout")
    assert "headers" in error["message"]


def test_a_trickled_body_is_cut_at_the_deadline(server, logs):
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        b"authorization: Bearer " + KEY.encode() + b"\r\ncontent-length: 100000\r\n\r\n{"
    )
    received, answered_at = _trickle(server.port, head, b" ", seconds=TIMEOUT_S + GRACE_S)
    assert TIMEOUT_S - 0.1 <= answered_at <= TIMEOUT_S + GRACE_S
    status, headers, body = _response(received)
    assert (status, headers["connection"]) == (408, "close")
    assert "body" in json.loads(body)["error"]["message"]
    events = _request_events(logs)
    assert [(e["event"], e["status"]) for e in events] == [("client_timed_out", 408)]


def test_a_body_still_trickling_after_the_answer_is_cut_at_the_deadline(server):
    # the 413 comes at once (the declared length is over the body limit); the client keeps
    # sending the body it announced, and the connection is closed at the body deadline
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-length: 999999999\r\n"
        b"authorization: Bearer " + KEY.encode() + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head)
        status, _, _ = _response(sock.recv(65536))
        assert status == 413
        closed_at = None
        while closed_at is None and time.monotonic() - started < TIMEOUT_S + GRACE_S:
            try:
                sock.sendall(b"x")
                readable, _, _ = select.select([sock], [], [], 0.1)
                if readable and sock.recv(1024) == b"":
                    closed_at = time.monotonic() - started
            except OSError:  # reset: closed with our bytes unread
                closed_at = time.monotonic() - started
    assert closed_at is not None
    assert TIMEOUT_S - 0.1 <= closed_at <= TIMEOUT_S + GRACE_S


def test_a_pipelined_trickled_body_never_cuts_into_the_answer_before_it(server, fake_upstream):
    # the first answer takes longer than the read timeout; the second request's body trickles
    # past its deadline meanwhile: the first answer goes out whole, then the connection closes
    fake_upstream.responder = lambda path, body: Reply(delay_s=2 * TIMEOUT_S)
    body = json.dumps(CHAT).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {KEY}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    received, _ = _trickle(server.port, head + body + head + b"{", b" ", seconds=4 * TIMEOUT_S)
    statuses = [answer[:3] for answer in received.split(b"HTTP/1.1 ")[1:]]
    assert statuses == [b"200"]
    assert json.loads(_response(received)[2])["object"] == "chat.completion"


def test_garbage_is_still_a_400(server):
    status, headers, _ = _response(_exchange(server.port, b"NOT HTTP AT ALL\r\n\r\n"))
    assert (status, headers["connection"]) == (400, "close")


def _request_events(
    logs: list[MutableMapping[str, Any]], timeout: float = 5.0
) -> list[MutableMapping[str, Any]]:
    """The per-request log events, once the server has logged one (it logs after the close)."""
    kinds = ("request_completed", "client_disconnected", "client_timed_out")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = [e for e in logs if e["event"] in kinds]
        if events:
            time.sleep(0.2)  # a second event for the same request would be a bug: let it show
            return [e for e in logs if e["event"] in kinds]
        time.sleep(0.02)
    return []


def test_a_client_leaving_mid_body_is_one_499_event_without_traceback(server, logs):
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        b"authorization: Bearer " + KEY.encode() + b'\r\ncontent-length: 1000\r\n\r\n{"mo'
    )
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head)
        time.sleep(0.2)  # the app is reading the body
    events = _request_events(logs)
    assert [(e["event"], e["status"]) for e in events] == [("client_disconnected", 499)]
    assert not [e for e in logs if e["event"] == "request_crashed" or "exc_info" in e]


def test_a_silent_connection_is_not_answered(fake_upstream, logs):
    # nothing sent: no request to answer (a 408 could be read as the answer to a request the
    # client sends just then); it is closed after the keep-alive timeout, silently
    app = create_app(Settings(upstream_api_base=fake_upstream.base_url, sstar_mode="off"))
    limits = ServerLimits(keepalive_timeout_s=1)
    with (
        ServerThread(app, limits=limits) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        started = time.monotonic()
        assert sock.recv(1024) == b""
        assert 0.9 <= time.monotonic() - started <= 1 + GRACE_S
