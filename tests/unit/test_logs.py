"""Request logging: one event per request, request ids, 499 for clients that left, no secrets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import structlog
from starlette.types import Message
from structlog.testing import capture_logs

from proxy.logs import RequestContextMiddleware, configure_logging

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Start from structlog's defaults: an app served earlier in the session may have configured a
    warning-level filter, which ``capture_logs`` keeps (it swaps processors only)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


async def test_one_event_per_request_with_model_and_mode_and_no_secrets(client):
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await client.post(
            "/v1/chat/completions",
            json=CHAT,
            headers={"authorization": "Bearer sk-secret-client", "x-request-id": "rid-1"},
        )
    assert response.headers["x-request-id"] == "rid-1"
    events = [e for e in logs if e["event"] == "request_completed"]
    assert len(events) == 1
    event = events[0]
    assert event["request_id"] == "rid-1"
    assert (event["model"], event["mode"], event["status"]) == ("fake-model", "passthrough", 200)
    assert event["duration_ms"] >= 0
    assert "sk-secret-client" not in repr(logs)


async def test_insane_request_ids_are_replaced(client):
    response = await client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert response.headers["x-request-id"].startswith("req_")


async def test_disconnect_before_the_end_is_logged_as_499():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await receive()  # the client leaves
        await asyncio.sleep(0)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await RequestContextMiddleware(app)(scope, receive, send)
    assert logs[-1]["status"] == 499
    assert (b"x-request-id", logs[-1]["request_id"].encode()) in sent[0]["headers"]


def test_configure_logging_json_and_console(capsys):
    try:
        configure_logging(log_format="json", level="info")
        structlog.get_logger("t").info("thing_done", n=1)
        configure_logging(log_format="console", level="warning")
        structlog.get_logger("t").info("hidden_event")
    finally:
        structlog.reset_defaults()
    err = capsys.readouterr().err
    assert '"event": "thing_done"' in err
    assert "hidden_event" not in err
