"""Render an S* result as what an OpenAI client expects: a ``chat.completion`` or an SSE stream.

The stream follows OPENAI_API.md §4: the role chunk goes out at once (so clients see the request
was accepted), SSE comments keep idle connections alive while the run works, opt-in progress goes
in ``delta.reasoning_content`` (never in ``content``), then the answer, ``finish_reason``, the
usage chunk when asked, and ``[DONE]``. A failure after the 200 is one ``error`` event + ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from proxy.api.headers import header_value
from proxy.api.sse import DONE, encode_event, error_event
from proxy.errors import ProxyError
from proxy.runs import Subscription
from proxy.scaling.types import ProgressEvent, ScalingResult
from proxy.upstream.base import Usage

log = structlog.get_logger(__name__)

KEEPALIVE = b": keep-alive\n\n"
CONTENT_PIECE = 512


@dataclass(frozen=True, slots=True)
class CompletionIdentity:
    """What every chunk of one answer shares (SDKs correlate chunks by ``id``)."""

    id: str
    created: int
    model: str


def usage_body(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def completion_body(result: ScalingResult, identity: CompletionIdentity) -> dict[str, object]:
    """A non-streaming ``chat.completion`` carrying the selected program."""
    return {
        "id": identity.id,
        "object": "chat.completion",
        "created": identity.created,
        "model": identity.model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.message, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage_body(result.usage),
    }


def summary_headers(result: ScalingResult) -> dict[str, str]:
    """The short run summary sent with non-streaming answers (the full story is in the trace)."""
    rounds = max((c.best_round for c in result.candidates), default=0)
    summary = {
        "samples": len(result.candidates),
        "passed_public": result.passed_public,
        "clusters": len(result.clusters),
        "rounds": rounds,
        "calls": result.upstream_calls,
        "executions": result.executions,
        "selection": result.selection,
        "tokens": result.usage.total_tokens,
        "plan": result.plan.replace("=", "").replace(" ", "/") or "none",
        "early_stop": "yes" if result.early_stop else "no",
    }
    headers = {"x-sstar-summary": header_value("; ".join(f"{k}={v}" for k, v in summary.items()))}
    if result.degraded:
        headers["x-sstar-degraded"] = header_value("; ".join(result.degraded))
    return headers


class ChunkWriter:
    """Builds ``chat.completion.chunk`` events for one answer (one choice, index 0)."""

    def __init__(self, identity: CompletionIdentity, *, usage_field: bool = False) -> None:
        self._identity = identity
        # With ``include_usage`` every chunk but the last carries ``usage: null`` (OpenAI's shape).
        self._usage_field = usage_field

    def chunk(
        self, delta: Mapping[str, object], *, finish_reason: str | None = None
    ) -> dict[str, object]:
        return {
            "id": self._identity.id,
            "object": "chat.completion.chunk",
            "created": self._identity.created,
            "model": self._identity.model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}
            ],
        }

    def event(self, delta: Mapping[str, object], *, finish_reason: str | None = None) -> bytes:
        payload = self.chunk(delta, finish_reason=finish_reason)
        return encode_event({**payload, "usage": None} if self._usage_field else payload)

    def usage_event(self, usage: Usage) -> bytes:
        return encode_event(
            {
                "id": self._identity.id,
                "object": "chat.completion.chunk",
                "created": self._identity.created,
                "model": self._identity.model,
                "system_fingerprint": None,
                "choices": [],
                "usage": usage_body(usage),
            }
        )


async def stream_answer(
    subscription: Subscription,
    identity: CompletionIdentity,
    *,
    include_usage: bool,
    progress: bool,
    keepalive_s: float,
    on_result: Callable[[ScalingResult], None] | None = None,
    on_error: Callable[[BaseException], ProxyError | None] | None = None,
) -> AsyncIterator[bytes]:
    """Stream an S* run's answer; releasing the subscription when the client goes away."""
    writer = ChunkWriter(identity, usage_field=include_usage)
    try:
        yield writer.event({"role": "assistant", "content": ""})
        result_task = asyncio.ensure_future(subscription.result())
        try:
            async for item in wait_with_keepalive(result_task, subscription, keepalive_s):
                if item is None:
                    yield KEEPALIVE
                elif progress:
                    yield writer.event({"reasoning_content": progress_line(item)})
            result = result_task.result()
            while progress and not subscription.progress.empty():
                yield writer.event(
                    {"reasoning_content": progress_line(subscription.progress.get_nowait())}
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("scaling_stream_failed", error=type(exc).__name__)
            error = on_error(exc) if on_error else None
            yield error_event(error or ProxyError("The S* run failed unexpectedly."))
            yield DONE
            return
        finally:
            if not result_task.done():
                result_task.cancel()
                with contextlib.suppress(BaseException):
                    await result_task
        if on_result is not None:
            on_result(result)
        text = result.message
        for start in range(0, len(text), CONTENT_PIECE):
            yield writer.event({"content": text[start : start + CONTENT_PIECE]})
        yield writer.event({}, finish_reason="stop")
        if include_usage:
            yield writer.usage_event(result.usage)
        yield DONE
    finally:
        subscription.release()


def progress_line(event: ProgressEvent) -> str:
    return f"[{event.stage}] {event.message}\n"


async def wait_with_keepalive(
    result_task: asyncio.Future[ScalingResult], subscription: Subscription, keepalive_s: float
) -> AsyncIterator[ProgressEvent | None]:
    """Yield progress events as they come and ``None`` after each quiet ``keepalive_s``."""
    while not result_task.done():
        progress_task = asyncio.ensure_future(subscription.progress.get())
        waiting: set[asyncio.Future[Any]] = {result_task, progress_task}
        try:
            done, _ = await asyncio.wait(
                waiting,
                timeout=keepalive_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not progress_task.done():
                progress_task.cancel()
        if progress_task in done:
            yield progress_task.result()
        elif not done:
            yield None
