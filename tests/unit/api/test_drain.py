"""DrainMiddleware: when the drain time is up, what still runs is ended with a 503 or an error
event, what finished is left alone, and other cancellations are not mistaken for the drain."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from proxy.api.drain import Drain, DrainMiddleware

SCOPE: Scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}


async def _receive() -> Message:
    await asyncio.sleep(3600)
    return {"type": "http.disconnect"}


async def _serve(app: Any, drain: Drain) -> tuple[asyncio.Task[None], list[Message]]:
    """Start ``app`` behind the middleware; returns its task once the app is running."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    running = asyncio.Event()

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        running.set()
        await app(scope, receive, send)

    task = asyncio.create_task(DrainMiddleware(watched, drain=drain)(SCOPE, _receive, send))
    await running.wait()
    return task, sent


def _hangs_after(*messages: Message) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)
        await asyncio.sleep(3600)

    return app


def _start(content_type: bytes) -> Message:
    return {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", content_type)],
    }


async def test_a_request_not_yet_answered_gets_a_retryable_503():
    drain = Drain()
    task, sent = await _serve(_hangs_after(), drain)
    drain.begin()
    assert drain.expire() == 1
    await task
    start, body = sent
    assert start["status"] == 503
    assert (b"x-should-retry", b"true") in start["headers"]
    error = json.loads(body["body"])["error"]
    assert (error["type"], error["code"]) == ("server_error", "server_shutting_down")
    assert drain.in_flight == 0


async def test_a_started_stream_ends_with_an_error_event_and_done():
    drain = Drain()
    chunk = {"type": "http.response.body", "body": b"data: {}\n\n", "more_body": True}
    task, sent = await _serve(_hangs_after(_start(b"text/event-stream"), chunk), drain)
    drain.expire()
    await task
    last = sent[-1]
    assert not last["more_body"]
    error_line, done, _ = last["body"].split(b"\n\n")
    assert json.loads(error_line.removeprefix(b"data: "))["error"]["code"] == "server_shutting_down"
    assert done == b"data: [DONE]"


async def test_a_half_sent_json_body_gets_nothing_added():
    drain = Drain()
    half = {"type": "http.response.body", "body": b'{"id": ', "more_body": True}
    task, sent = await _serve(_hangs_after(_start(b"application/json"), half), drain)
    drain.expire()
    await task
    assert sent[-1] is half


async def test_finished_requests_are_untouched_and_new_ones_after_expiry_get_503():
    drain = Drain()
    done = [_start(b"application/json"), {"type": "http.response.body", "body": b"{}"}]
    task, sent = await _serve(_hangs_after(*done), drain)
    await asyncio.sleep(0)
    drain.expire()
    await task
    assert sent == done
    late: list[Message] = []  # a request that comes after the drain time

    async def send(message: Message) -> None:
        late.append(message)

    await DrainMiddleware(_hangs_after(), drain=drain)(SCOPE, _receive, send)
    assert late[0]["status"] == 503


async def test_other_cancellations_still_cancel():
    drain = Drain()
    task, sent = await _serve(_hangs_after(), drain)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent == []
    assert drain.in_flight == 0
