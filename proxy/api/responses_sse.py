"""Server-sent events of the Responses API: named events, and how a failed stream ends.

Responses streams differ from chat streams: each event is named (``event: response.created``)
and carries its ``type`` and a ``sequence_number``, and there is no ``[DONE]``: a stream ends
after ``response.completed`` (or ``response.failed``). A failure after the 200 becomes one
``error`` event, OpenAI's Responses shape (``type``, ``code``, ``message``, ``param``,
``sequence_number``) plus the ``error`` envelope every other route uses: the openai SDK raises
an ``APIError`` with that envelope on it (as for a chat stream), and clients that read events
by ``type`` see an ``error`` event. Relayed streams stay byte-faithful until then.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog

from proxy.api.sse import error_payload
from proxy.errors import ProxyError

log = structlog.get_logger(__name__)

_SEQUENCE = re.compile(rb'"sequence_number"\s*:\s*(\d+)')
_GENERIC = "The server had an error while streaming the response."


def encode_named_event(payload: Mapping[str, Any]) -> bytes:
    """``event: <type>`` and one compact JSON ``data:`` line."""
    data = json.dumps(payload, separators=(",", ":"))
    return f"event: {payload['type']}\ndata: {data}\n\n".encode()


def stream_error_event(exc: ProxyError, sequence_number: int) -> bytes:
    """The ``error`` event that ends a failed Responses stream (see the module docstring)."""
    envelope = error_payload(exc)
    inner = envelope["error"]
    return encode_named_event(
        {
            "type": "error",
            "code": inner["code"] if inner["code"] is not None else inner["type"],
            "message": inner["message"],
            "param": inner["param"],
            "sequence_number": sequence_number,
            **envelope,
        }
    )


def failure_of(exc: Exception) -> ProxyError:
    """A stream's failure as a proxy error: ours as raised, anything else generic (logged)."""
    if isinstance(exc, ProxyError):
        log.warning("stream_failed", error=type(exc).__name__, status=exc.status_code)
        return exc
    log.error("stream_crashed", error=type(exc).__name__, exc_info=exc)
    return ProxyError(_GENERIC)


async def relay_response_events(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Relay an upstream's Responses stream as it arrives; a failure ends it with ``error``.

    The error's ``sequence_number`` follows the last one relayed (read from the bytes)."""
    last = -1
    try:
        async for chunk in stream:
            numbers = _SEQUENCE.findall(chunk)
            if numbers:
                last = int(numbers[-1])
            yield chunk
    except Exception as exc:
        yield stream_error_event(failure_of(exc), last + 1)


async def encode_response_events(
    events: AsyncIterator[Mapping[str, Any]],
) -> AsyncIterator[bytes]:
    """Event objects (a translated stream) as named SSE events; a failure ends with ``error``."""
    last = -1
    try:
        async for event in events:
            number = event.get("sequence_number")
            if isinstance(number, int):
                last = number
            yield encode_named_event(event)
    except Exception as exc:
        yield stream_error_event(failure_of(exc), last + 1)
