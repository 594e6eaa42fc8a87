"""SSE helpers: encoding, the error ending, and cleanup of the response."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.types import Message

from proxy.api.sse import DONE, EventStreamResponse, encode_event, error_event, relay_events
from proxy.errors import UpstreamTimeoutError


def test_encode_event():
    assert encode_event({"a": [1, "é"]}) == b'data: {"a":[1,"\\u00e9"]}\n\n'


def test_error_event_is_openai_shaped():
    event = error_event(UpstreamTimeoutError("late"))
    payload = json.loads(event[len(b"data: ") :])
    assert payload == {"error": {"message": "late", "type": "timeout", "param": None, "code": None}}


async def _failing(exc: Exception) -> AsyncIterator[bytes]:
    yield b"data: {}\n\n"
    raise exc


async def test_relay_events_ends_a_failure_with_error_and_done():
    out = [c async for c in relay_events(_failing(UpstreamTimeoutError("late")))]
    assert out[0] == b"data: {}\n\n"
    assert b'"late"' in out[1]
    assert out[2] == DONE


async def test_relay_events_hides_unexpected_errors():
    out = [c async for c in relay_events(_failing(RuntimeError("internal detail")))]
    assert b"internal detail" not in out[1]
    assert b"server_error" in out[1]
    assert out[2] == DONE


async def test_event_stream_response_closes_even_if_never_iterated():
    closed: list[str] = []

    async def on_close() -> None:
        closed.append("upstream")

    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"

    response = EventStreamResponse(body(), on_close=on_close)
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.media_type == "text/event-stream"

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await response({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send)
    assert closed == ["upstream"]
