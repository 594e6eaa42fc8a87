"""Server-sent events: encoding, the error-then-DONE ending, and a response that cancels cleanly.

A failure after the 200 was sent cannot change the status any more, so it becomes one
``data: {"error": {...}}`` event followed by ``data: [DONE]`` (openai-python raises an ``APIError``
carrying the message). ``EventStreamResponse`` makes sure the upstream is released whatever
happens: a normal end, an error, or a client disconnect before the first byte.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio
import structlog
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from proxy.errors import ProxyError

log = structlog.get_logger(__name__)

DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def encode_event(payload: Mapping[str, Any]) -> bytes:
    """One ``data:`` event holding one compact JSON object."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def error_payload(exc: ProxyError) -> dict[str, Any]:
    return {
        "error": {
            "message": exc.message,
            "type": exc.error_type,
            "param": exc.param,
            "code": exc.code,
        }
    }


def error_event(exc: ProxyError) -> bytes:
    return encode_event(error_payload(exc))


async def relay_events(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Pass ``stream`` through; a failure becomes an error event and ``[DONE]``."""
    try:
        async for chunk in stream:
            yield chunk
    except ProxyError as exc:
        log.warning("stream_failed", error=type(exc).__name__, status=exc.status_code)
        yield error_event(exc)
        yield DONE
    except Exception:
        log.exception("stream_crashed")
        yield error_event(ProxyError("The server had an error while streaming the response."))
        yield DONE


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response that always runs ``on_close`` (e.g. release the upstream).

    Starlette (ASGI spec < 2.4, which uvicorn reports) cancels the body iterator when the client
    disconnects; ``on_close`` then runs shielded so the upstream connection is closed, which is
    what tells the upstream to stop generating.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterator[bytes],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            content, status_code=status_code, headers={**SSE_HEADERS, **(headers or {})}
        )
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
                if self._on_close is not None:
                    await self._on_close()
