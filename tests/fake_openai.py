"""OpenAI-shaped bodies for the fake upstream: what ``Reply`` scripts and how it is rendered.

Chat, legacy completions and embeddings, as JSON or as SSE with OpenAI's framing (role chunk
first, one ``id`` for all chunks, ``finish_reason`` on the last content chunk, a usage chunk with
``choices: []`` when ``stream_options.include_usage`` is set, then ``data: [DONE]``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from starlette.responses import JSONResponse, Response

CREATED = 1_700_000_000
_ids = count(1)


class InjectedFailure(RuntimeError):
    """Raised inside a stream to break the connection mid-response (``Reply.fail_after_chunks``)."""


@dataclass
class Reply:
    """One scripted answer. Defaults: every requested choice says ``text``, status 200."""

    text: str = "Hello from the fake upstream."
    texts: list[str] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    status: int = 200
    error: str | None = None
    error_type: str = "invalid_request_error"
    error_param: str | None = None
    error_code: str | int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    fail_after_chunks: int | None = None
    stream: bool | None = None
    # Per token of each choice, the alternatives to report (token -> logprob) when the request
    # asks for ``top_logprobs``; default: the token itself at -0.25.
    alternatives: list[dict[str, float]] | None = None
    # The exact body to answer with, streaming request or not (e.g. invalid JSON), sent with
    # ``status``, ``content_type`` and ``headers``.
    raw: bytes | None = None
    content_type: str = "application/json"

    def choice_texts(self, body: dict[str, Any]) -> list[str]:
        if self.texts is not None:
            return self.texts
        return [self.text] * int(body.get("n") or 1)


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p if i == len(parts) - 1 else p + " " for i, p in enumerate(parts)]


def _usage(body: dict[str, Any], reply: Reply, texts: list[str]) -> dict[str, Any]:
    if reply.usage is not None:
        return reply.usage
    prompt = json.dumps(body.get("messages") or body.get("prompt") or body.get("input") or "")
    prompt_tokens = max(len(prompt.split()), 1)
    completion_tokens = sum(len(t.split()) for t in texts)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _logprobs(text: str, body: dict[str, Any], reply: Reply) -> dict[str, Any] | None:
    if not body.get("logprobs"):
        return None
    top = int(body.get("top_logprobs") or 0)
    content = []
    for position, token in enumerate(_words(text)):
        scripted = reply.alternatives[position] if reply.alternatives else {token: -0.25}
        ranked = sorted(scripted.items(), key=lambda item: -item[1])[:top]
        content.append(
            {
                "token": token,
                "logprob": scripted.get(token, -0.25),
                "bytes": list(token.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in ranked
                ],
            }
        )
    return {"content": content, "refusal": None}


def _finish(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _chat_choice(index: int, text: str, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if reply.tool_calls and index == 0:
        message["content"] = None
        message["tool_calls"] = reply.tool_calls
    return {
        "index": index,
        "message": message,
        "logprobs": _logprobs(text, body, reply),
        "finish_reason": _finish(reply),
    }


def _embedding(index: int, body: dict[str, Any]) -> dict[str, Any]:
    vector = [round(0.1 * (index + 1) * (k + 1), 3) for k in range(4)]
    value: Any = vector
    if body.get("encoding_format") == "base64":
        value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return {"object": "embedding", "index": index, "embedding": value}


def error_body(reply: Reply) -> dict[str, Any]:
    return {
        "error": {
            "message": reply.error or f"fake upstream error {reply.status}",
            "type": reply.error_type,
            "param": reply.error_param,
            "code": reply.error_code,
        }
    }


def build_json(endpoint: str, body: dict[str, Any], reply: Reply) -> Response:
    """A complete (non-streaming) response, the scripted raw body, or the scripted error."""
    if reply.raw is not None:
        return Response(
            reply.raw,
            status_code=reply.status,
            media_type=reply.content_type,
            headers=reply.headers,
        )
    if reply.status >= 400:
        return JSONResponse(error_body(reply), status_code=reply.status, headers=reply.headers)
    texts = reply.choice_texts(body)
    model = body.get("model", "fake-model")
    payload: dict[str, Any]
    if endpoint == "embeddings":
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = [_embedding(i, body) for i in range(len(items))]
        usage = {"prompt_tokens": len(items), "total_tokens": len(items)}
        payload = {"object": "list", "data": data, "model": model, "usage": usage}
    elif endpoint == "completions":
        choices = [
            {"index": i, "text": t, "logprobs": None, "finish_reason": _finish(reply)}
            for i, t in enumerate(texts)
        ]
        payload = _envelope("cmpl", "text_completion", model, choices)
        payload["usage"] = _usage(body, reply, texts)
    else:
        choices = [_chat_choice(i, t, body, reply) for i, t in enumerate(texts)]
        payload = _envelope("chatcmpl", "chat.completion", model, choices)
        payload["usage"] = _usage(body, reply, texts)
    return JSONResponse(payload, headers=reply.headers)


def _envelope(prefix: str, kind: str, model: str, choices: list[Any]) -> dict[str, Any]:
    return {
        "id": f"{prefix}-fake{next(_ids)}",
        "object": kind,
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": choices,
    }


def _chat_deltas(index: int, text: str, reply: Reply) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if reply.tool_calls and index == 0:
        for k, call in enumerate(reply.tool_calls):
            function = call["function"]
            first = {
                "index": k,
                "id": call["id"],
                "type": "function",
                "function": {"name": function["name"], "arguments": ""},
            }
            rest = {"index": k, "function": {"arguments": function["arguments"]}}
            deltas += [{"tool_calls": [first]}, {"tool_calls": [rest]}]
        return deltas
    return deltas + [{"content": word} for word in _words(text)]


async def build_stream(endpoint: str, body: dict[str, Any], reply: Reply) -> AsyncIterator[bytes]:
    """SSE events for chat or completions; honours chunk delays and mid-stream failure."""
    texts = reply.choice_texts(body)
    chat = endpoint != "completions"
    envelope = _envelope(
        "chatcmpl" if chat else "cmpl",
        "chat.completion.chunk" if chat else "text_completion",
        body.get("model", "fake-model"),
        [],
    )
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    sent = 0
    for index, text in enumerate(texts):
        pieces = _chat_deltas(index, text, reply) if chat else [{"text": w} for w in _words(text)]
        for k, piece in enumerate(pieces):
            last = k == len(pieces) - 1
            choice: dict[str, Any] = (
                {"index": index, "delta": piece, "logprobs": None}
                if chat
                else {"index": index, **piece, "logprobs": None}
            )
            choice["finish_reason"] = _finish(reply) if last else None
            chunk = {**envelope, "choices": [choice]}
            if with_usage:
                chunk["usage"] = None
            if reply.fail_after_chunks is not None and sent >= reply.fail_after_chunks:
                raise InjectedFailure("fake upstream broke the stream on purpose")
            if reply.chunk_delay_s:
                await asyncio.sleep(reply.chunk_delay_s)
            yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
            sent += 1
    if with_usage:
        usage_chunk = {**envelope, "choices": [], "usage": _usage(body, reply, texts)}
        yield b"data: " + json.dumps(usage_chunk).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
