"""Render an S* result as the Responses API does: a ``response`` object, or its event stream.

The answer is one assistant ``message`` item holding one ``output_text`` part (the selected
program, as ``x-sstar-output`` asks), ``status: completed`` and ``usage`` summed over every
upstream call of the run (``input_tokens``, ``output_tokens``, ``total_tokens``). The object
echoes the request's own settings (``instructions``, ``max_output_tokens``, ``temperature``,
``top_p``, ``user``, ``metadata``), as OpenAI's does. Nothing is stored: ``store`` is false.

The stream follows OpenAI's order: ``response.created`` and ``response.in_progress`` at once
(the client sees the request was accepted), ``: keep-alive`` comments while the run works,
then ``response.output_item.added``, ``response.content_part.added``,
``response.output_text.delta`` (the text in pieces), ``response.output_text.done``,
``response.content_part.done``, ``response.output_item.done`` and ``response.completed``.
Progress (``x-sstar-progress``) goes in a ``reasoning`` item before the message, as reasoning
summary text, never in the answer. A failure after the 200 is one ``error`` event
(``responses_sse.py``) and ``response.failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.api.answer import CONTENT_PIECE, KEEPALIVE, progress_line, wait_with_keepalive
from proxy.api.responses_sse import encode_named_event, failure_of, stream_error_event
from proxy.errors import ProxyError
from proxy.runs import Subscription
from proxy.scaling.types import ProgressEvent, ScalingResult
from proxy.upstream.base import Usage

_ECHOED = ("instructions", "max_output_tokens", "temperature", "top_p", "user", "metadata")
_FAILURE_CODES = {429: "rate_limit_exceeded"}


@dataclass(frozen=True, slots=True)
class ResponseIdentity:
    """What every event of one answer shares: the ids, the time, and the echoed request."""

    id: str
    message_id: str
    created_at: int
    model: str
    echo: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, body: Mapping[str, Any]) -> ResponseIdentity:
        """Fresh random ids (never the run's id: only ``x-sstar-run-id`` leads to the trace)."""
        return cls(
            id="resp_" + secrets.token_hex(16),
            message_id="msg_" + secrets.token_hex(16),
            created_at=int(time.time()),
            model=str(body.get("model", "")),
            echo={name: body[name] for name in _ECHOED if name in body},
        )


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def message_item(identity: ResponseIdentity, text: str | None) -> dict[str, Any]:
    """The assistant message; ``None`` text: the item as added, before any content."""
    content = [] if text is None else [_text_part(text)]
    return {
        "id": identity.message_id,
        "type": "message",
        "role": "assistant",
        "status": "in_progress" if text is None else "completed",
        "content": content,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_body(
    identity: ResponseIdentity,
    *,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None = None,
    error: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object in any state (``in_progress``, ``completed``, ``failed``)."""
    echo = identity.echo
    return {
        "id": identity.id,
        "object": "response",
        "created_at": identity.created_at,
        "status": status,
        "background": False,
        "error": dict(error) if error is not None else None,
        "incomplete_details": None,
        "instructions": echo.get("instructions"),
        "max_output_tokens": echo.get("max_output_tokens"),
        "metadata": echo.get("metadata") or {},
        "model": identity.model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": echo.get("temperature"),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": echo.get("top_p"),
        "truncation": "disabled",
        "usage": usage_body(usage) if usage is not None else None,
        "user": echo.get("user"),
    }


def completed_body(result: ScalingResult, identity: ResponseIdentity) -> dict[str, Any]:
    """A non-streaming answer carrying the selected program."""
    output = [message_item(identity, result.message)]
    return response_body(identity, status="completed", output=output, usage=result.usage)


class EventWriter:
    """Numbers and encodes one stream's events (``sequence_number`` counts from 0)."""

    def __init__(self, identity: ResponseIdentity) -> None:
        self.identity = identity
        self._next = 0

    def event(self, kind: str, **fields: Any) -> bytes:
        number, self._next = self._next, self._next + 1
        return encode_named_event({"type": kind, **fields, "sequence_number": number})

    def error(self, exc: ProxyError) -> bytes:
        number, self._next = self._next, self._next + 1
        return stream_error_event(exc, number)

    def response(self, kind: str, **state: Any) -> bytes:
        return self.event(kind, response=response_body(self.identity, **state))


class _Reasoning:
    """The optional ``reasoning`` item that carries progress: opened by the first progress line,
    closed before the answer (state of one stream, kept out of the generator)."""

    def __init__(self, writer: EventWriter) -> None:
        self._writer = writer
        self._id = "rs_" + secrets.token_hex(16)
        self._lines: list[str] = []

    @property
    def items(self) -> list[dict[str, Any]]:
        if not self._lines:
            return []
        summary = [{"type": "summary_text", "text": "".join(self._lines)}]
        return [{"id": self._id, "type": "reasoning", "summary": summary, "status": "completed"}]

    def add(self, event: ProgressEvent) -> list[bytes]:
        out = []
        where = {"item_id": self._id, "output_index": 0, "summary_index": 0}
        if not self._lines:
            item = {"id": self._id, "type": "reasoning", "summary": [], "status": "in_progress"}
            out.append(self._writer.event("response.output_item.added", output_index=0, item=item))
            part = {"type": "summary_text", "text": ""}
            out.append(
                self._writer.event("response.reasoning_summary_part.added", **where, part=part)
            )
        line = progress_line(event)
        self._lines.append(line)
        out.append(self._writer.event("response.reasoning_summary_text.delta", **where, delta=line))
        return out

    def close(self) -> list[bytes]:
        if not self._lines:
            return []
        where = {"item_id": self._id, "output_index": 0, "summary_index": 0}
        (item,) = self.items
        part = item["summary"][0]
        return [
            self._writer.event("response.reasoning_summary_text.done", **where, text=part["text"]),
            self._writer.event("response.reasoning_summary_part.done", **where, part=part),
            self._writer.event("response.output_item.done", output_index=0, item=item),
        ]


def _answer_events(
    writer: EventWriter, result: ScalingResult, before: list[dict[str, Any]]
) -> list[bytes]:
    """The message item's events and ``response.completed`` (``before``: earlier items)."""
    identity, index, text = writer.identity, len(before), result.message
    where = {"item_id": identity.message_id, "output_index": index, "content_index": 0}
    events = [
        writer.event(
            "response.output_item.added", output_index=index, item=message_item(identity, None)
        ),
        writer.event("response.content_part.added", **where, part=_text_part("")),
    ]
    for start in range(0, len(text), CONTENT_PIECE):
        piece = text[start : start + CONTENT_PIECE]
        events.append(writer.event("response.output_text.delta", **where, delta=piece, logprobs=[]))
    events += [
        writer.event("response.output_text.done", **where, text=text, logprobs=[]),
        writer.event("response.content_part.done", **where, part=_text_part(text)),
        writer.event(
            "response.output_item.done", output_index=index, item=message_item(identity, text)
        ),
    ]
    output = [*before, message_item(identity, text)]
    events.append(
        writer.response("response.completed", status="completed", output=output, usage=result.usage)
    )
    return events


def _failed(writer: EventWriter, exc: ProxyError) -> list[bytes]:
    error = {"code": _FAILURE_CODES.get(exc.status_code, "server_error"), "message": exc.message}
    return [
        writer.error(exc),
        writer.response("response.failed", status="failed", output=[], error=error),
    ]


async def stream_response(
    subscription: Subscription,
    identity: ResponseIdentity,
    *,
    progress: bool,
    keepalive_s: float,
) -> AsyncIterator[bytes]:
    """Stream an S* run's answer as Responses events; releases the subscription at the end."""
    writer = EventWriter(identity)
    reasoning = _Reasoning(writer)
    try:
        yield writer.response("response.created", status="in_progress", output=[])
        yield writer.response("response.in_progress", status="in_progress", output=[])
        result_task = asyncio.ensure_future(subscription.result())
        try:
            async for item in wait_with_keepalive(result_task, subscription, keepalive_s):
                if item is None:
                    yield KEEPALIVE
                elif progress:
                    for event in reasoning.add(item):
                        yield event
            result = result_task.result()
            while progress and not subscription.progress.empty():
                for event in reasoning.add(subscription.progress.get_nowait()):
                    yield event
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            for event in _failed(writer, failure_of(exc)):
                yield event
            return
        finally:
            if not result_task.done():
                result_task.cancel()
                with contextlib.suppress(BaseException):
                    await result_task
        for event in [*reasoning.close(), *_answer_events(writer, result, reasoning.items)]:
            yield event
    finally:
        subscription.release()
