"""Responses SSE: named events, and how a failed stream ends (relayed or translated)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from proxy.api.responses_sse import (
    encode_named_event,
    encode_response_events,
    relay_response_events,
    stream_error_event,
)
from proxy.errors import UpstreamTimeoutError


def _data(event: bytes) -> dict[str, Any]:
    name, data = event.decode().strip().split("\n")
    payload: dict[str, Any] = json.loads(data.removeprefix("data: "))
    assert name == f"event: {payload['type']}"
    return payload


def test_named_event():
    event = encode_named_event({"type": "response.created", "sequence_number": 0})
    assert event == (
        b'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n'
    )


def test_error_event_is_both_a_responses_event_and_the_envelope():
    payload = _data(stream_error_event(UpstreamTimeoutError("late"), 7))
    assert payload == {
        "type": "error",
        "code": "timeout",
        "message": "late",
        "param": None,
        "sequence_number": 7,
        "error": {"message": "late", "type": "timeout", "param": None, "code": None},
    }


async def _failing(chunks: list[bytes], exc: Exception) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    raise exc


async def test_relay_passes_bytes_and_numbers_the_error_after_the_last_event():
    chunks = [
        b'event: a\ndata: {"type":"a","sequence_number":0}\n\n',
        b'event: b\ndata: {"type":"b","sequence_number": 1}\n\nevent: c\ndata: {"type":"c",'
        b'"sequence_number":2}\n\n',
    ]
    out = [c async for c in relay_response_events(_failing(chunks, UpstreamTimeoutError("x")))]
    assert out[:2] == chunks
    assert _data(out[2])["sequence_number"] == 3
    assert len(out) == 3


async def test_relay_error_before_any_event_is_number_zero():
    out = [c async for c in relay_response_events(_failing([], UpstreamTimeoutError("x")))]
    assert _data(out[0])["sequence_number"] == 0


async def _events(
    items: Sequence[Mapping[str, Any]], exc: Exception
) -> AsyncIterator[Mapping[str, Any]]:
    for item in items:
        yield item
    raise exc


async def test_translated_events_are_named_and_an_unexpected_failure_is_generic():
    items = [{"type": "response.created", "sequence_number": 0, "response": {}}]
    out = [c async for c in encode_response_events(_events(items, RuntimeError("secret")))]
    assert _data(out[0])["type"] == "response.created"
    error = _data(out[1])
    assert error["sequence_number"] == 1
    assert error["error"]["type"] == "server_error"
    assert "secret" not in error["message"]
