"""The fake upstream's ``/v1/responses``: a ``response`` object, or OpenAI's named event stream.

The same ``Reply`` scripts it as chat: ``text`` is the answer (``texts[0]`` when given),
``tool_calls`` become ``function_call`` items, ``usage`` (chat's names) becomes
``input_tokens``/``output_tokens``, ``raw`` and error statuses are sent as scripted, and a
stream honours ``chunk_delay_s`` and ``fail_after_chunks``. An upstream without a Responses
API is a responder answering ``Reply(status=404)`` for the path ``responses``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from itertools import count
from typing import Any

from starlette.responses import JSONResponse, Response

from tests.fake_openai import CREATED, InjectedFailure, Reply, build_json

_ids = count(1)


def _text(reply: Reply) -> str:
    return reply.texts[0] if reply.texts else reply.text


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    if reply.usage is not None:
        prompt, completion = reply.usage["prompt_tokens"], reply.usage["completion_tokens"]
    else:
        prompt = max(len(json.dumps(body.get("input") or "").split()), 1)
        completion = len(_text(reply).split())
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _message(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}] if text else []
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _output(reply: Reply, item_id: str) -> list[dict[str, Any]]:
    if reply.tool_calls:
        return [
            {
                "id": f"fc_{call['id']}",
                "type": "function_call",
                "call_id": call["id"],
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
                "status": "completed",
            }
            for call in reply.tool_calls
        ]
    return [_message(item_id, _text(reply))]


def _response(
    body: dict[str, Any], response_id: str, *, status: str, output: list[Any], usage: Any
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": body.get("model", "fake-model"),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "previous_response_id": body.get("previous_response_id"),
        "usage": usage,
    }


def build_response_json(body: dict[str, Any], reply: Reply) -> Response:
    """The whole ``response`` object (or the scripted raw body or error)."""
    if reply.raw is not None or reply.status >= 400:
        return build_json("responses", body, reply)
    number = next(_ids)
    payload = _response(
        body,
        f"resp_fake{number}",
        status="completed",
        output=_output(reply, f"msg_fake{number}"),
        usage=_usage(body, reply),
    )
    return JSONResponse(payload, headers=reply.headers)


def _event(kind: str, sequence: int, **fields: Any) -> bytes:
    data = json.dumps({"type": kind, **fields, "sequence_number": sequence})
    return f"event: {kind}\ndata: {data}\n\n".encode()


async def build_response_stream(body: dict[str, Any], reply: Reply) -> AsyncIterator[bytes]:
    """OpenAI's event order for one text message; ends after ``response.completed``."""
    number = next(_ids)
    response_id, item_id, text = f"resp_fake{number}", f"msg_fake{number}", _text(reply)
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    started = _response(body, response_id, status="in_progress", output=[], usage=None)
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": started}),
        ("response.in_progress", {"response": started}),
        (
            "response.output_item.added",
            {"output_index": 0, "item": _message(item_id, "", "in_progress")},
        ),
        (
            "response.content_part.added",
            {**where, "part": {"type": "output_text", "text": "", "annotations": []}},
        ),
    ]
    words = text.split(" ")
    events += [
        ("response.output_text.delta", {**where, "delta": w if i == len(words) - 1 else w + " "})
        for i, w in enumerate(words)
    ]
    done = _response(
        body,
        response_id,
        status="completed",
        output=[_message(item_id, text)],
        usage=_usage(body, reply),
    )
    events += [
        ("response.output_text.done", {**where, "text": text}),
        (
            "response.content_part.done",
            {**where, "part": {"type": "output_text", "text": text, "annotations": []}},
        ),
        ("response.output_item.done", {"output_index": 0, "item": _message(item_id, text)}),
        ("response.completed", {"response": done}),
    ]
    for sequence, (kind, fields) in enumerate(events):
        if reply.fail_after_chunks is not None and sequence >= reply.fail_after_chunks:
            raise InjectedFailure("fake upstream broke the stream on purpose")
        if reply.chunk_delay_s:
            await asyncio.sleep(reply.chunk_delay_s)
        yield _event(kind, sequence, **fields)
