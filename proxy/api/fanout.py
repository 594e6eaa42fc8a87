"""Fan-out for upstreams that ignore ``n`` (OPENAI_API.md §2): ask again and merge the choices.

Some OpenAI-compatible servers answer ``n>1`` with a single choice, and litellm drops ``n`` for
providers without it. A client that asked for n choices still gets n: after the upstream's
answer, the missing choices are asked for with concurrent ``n=1`` calls and merged into that
answer. Merged choices are numbered after the upstream's own; usage is summed over every call
(each call was billed its prompt); with a ``seed``, extra call i uses ``seed + i`` so that the
choices differ as they would in one ``n`` call. A failed extra call leaves its choice out rather
than failing the request; ``x-sstar-fanout`` says how many calls were added and how many choices
they brought. Answers that already hold n choices are never touched (byte-faithful), and neither
are answers with no choice at all (nothing suggests the upstream ignored ``n``: relayed as is).

Bounds: at most ``max_calls`` extra calls per request (``SSTAR_MAX_FANOUT``); an answer that
would need more is refused, as a 400 naming ``n`` (JSON) or, for a stream already under way, an
error event naming ``n`` after the upstream's own choices. At most ``FANOUT_CONCURRENCY`` extra
calls run at a time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog

from proxy.api.headers import header_value
from proxy.api.sse import DONE, encode_event, error_event
from proxy.errors import InvalidRequestError

log = structlog.get_logger(__name__)

FANOUT_HEADER = "x-sstar-fanout"
_USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")
_DONE = object()
FANOUT_CONCURRENCY = 4
"""Extra calls of one request in flight at a time."""


def choices_asked(endpoint: str, body: Mapping[str, Any]) -> int:
    """The ``n`` the client asked for (1 when absent or malformed: the upstream judges that)."""
    n = body.get("n")
    if endpoint == "embeddings" or not isinstance(n, int) or isinstance(n, bool):
        return 1
    return max(n, 1)


def too_many_calls(n: int, missing: int, max_calls: int) -> InvalidRequestError:
    """The 400 for an ``n`` whose missing choices need more extra calls than allowed."""
    return InvalidRequestError(
        f"n={n}: the upstream answered {n - missing} choice(s) and this proxy makes at most "
        f"{max_calls} extra call(s) per request to complete them; ask for n <= "
        f"{n - missing + max_calls}.",
        param="n",
        code="invalid_value",
    )


async def _bounded(limit: asyncio.Semaphore, call: Awaitable[Any]) -> Any:
    async with limit:
        return await call


async def complete_choices(
    first: dict[str, Any],
    body: Mapping[str, Any],
    n: int,
    ask_one: Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]],
    *,
    max_calls: int,
) -> tuple[dict[str, Any], str | None]:
    """``first`` with its missing choices asked for (one call each, concurrently) and merged,
    and the note for :data:`FANOUT_HEADER` (``None``: nothing was missing, ``first`` as is).
    Raises ``InvalidRequestError`` when that would take more than ``max_calls`` calls."""
    missing = missing_choices(first, n)
    if missing == 0:
        return first, None
    if missing > max_calls:
        raise too_many_calls(n, missing, max_calls)
    limit = asyncio.Semaphore(FANOUT_CONCURRENCY)
    answers = await asyncio.gather(
        *(_bounded(limit, ask_one(b)) for b in single_choice_bodies(body, missing)),
        return_exceptions=True,
    )
    failed = [a for a in answers if isinstance(a, BaseException)]
    if failed:
        log.warning("fanout_calls_failed", failed=len(failed), asked=missing,
                    error=type(failed[0]).__name__)  # fmt: skip
    merged = merge_answers(first, [a for a in answers if isinstance(a, dict)])
    added = len(merged["choices"]) - len(first["choices"])
    return merged, header_value(f"{missing} call(s) added {added} choice(s)")


def decode_answer(raw: bytes) -> dict[str, Any] | None:
    """A completion body as a dict with a ``choices`` list, else ``None``."""
    try:
        decoded = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("choices"), list):
        return None
    return decoded


def missing_choices(answer: Mapping[str, Any], n: int) -> int:
    """How many of the ``n`` requested choices the answer lacks (distinct indices counted);
    0 for an answer without any choice (not an upstream ignoring ``n``: relayed as is)."""
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices:
        return 0
    return max(0, n - len({c.get("index") for c in choices if isinstance(c, dict)}))


def single_choice_bodies(body: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` request bodies for one choice each, seeds offset so that choices differ."""
    seed = body.get("seed")
    bodies = []
    for i in range(1, count + 1):
        one = {**body, "n": 1}
        if isinstance(seed, int) and not isinstance(seed, bool):
            one["seed"] = seed + i
        bodies.append(one)
    return bodies


def merge_answers(first: dict[str, Any], extras: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``first`` with the extra answers' choices appended (renumbered) and usage summed."""
    choices = list(first["choices"])
    next_index = 1 + max((c.get("index", 0) for c in choices if isinstance(c, dict)), default=-1)
    for extra in extras:
        for choice in extra.get("choices") or ():
            if isinstance(choice, dict):
                choices.append({**choice, "index": next_index})
                next_index += 1
    merged = {**first, "choices": choices}
    if isinstance(first.get("usage"), dict):
        usages = [first["usage"], *(e["usage"] for e in extras if isinstance(e.get("usage"), dict))]
        merged["usage"] = summed_usage(usages)
    return merged


def summed_usage(usages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The first usage object with its token counts summed over all of them."""
    first = dict(usages[0])
    for key in _USAGE_COUNTS:
        if key in first:
            first[key] = sum(int(u.get(key) or 0) for u in usages)
    return first


def _events(block: bytes) -> list[bytes]:
    """The SSE events in an event-aligned block, each with its blank-line terminator."""
    return [e + b"\n\n" for e in block.replace(b"\r\n", b"\n").split(b"\n\n") if e.strip()]


def _payload(event: bytes) -> object:
    """An event's JSON payload, :data:`_DONE`, or ``None`` (a comment, or not JSON)."""
    data = b"".join(line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:"))
    if not data:
        return None
    if data == b"[DONE]":
        return _DONE
    try:
        return json.loads(data)
    except ValueError:
        return None


class StreamFanout:
    """Relays an SSE stream and, if it brought fewer than ``n`` choices, appends the missing
    ones from ``n=1`` streams opened when it ends (generated concurrently, relayed one after
    another), each chunk renumbered and given the first stream's ``id``. The first stream's
    bytes pass unchanged; only its ``[DONE]`` and usage chunk are held back, so the usage chunk
    can carry the sum over every call. A failing extra stream ends its choice early. A stream
    that brought no choice gets none added; one that would need more than ``max_calls`` extra
    streams ends with an error event naming ``n``.
    """

    def __init__(
        self,
        body: Mapping[str, Any],
        n: int,
        open_stream: Callable[[dict[str, Any]], Awaitable[AsyncIterator[bytes]]],
        *,
        max_calls: int,
    ) -> None:
        self._body = body
        self._n = n
        self._open = open_stream
        self._max_calls = max_calls
        self._limit = asyncio.Semaphore(FANOUT_CONCURRENCY)
        self._id: object = None
        self._indices: set[object] = set()
        self._usage_event: tuple[dict[str, Any], bytes] | None = None
        self._usages: list[Mapping[str, Any]] = []

    async def relay(self, first: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for block in first:
            kept = [e for e in _events(block) if self._observe(e)]
            if kept:
                yield b"".join(kept)
        missing = max(0, self._n - len(self._indices)) if self._indices else 0
        if missing > self._max_calls:
            yield error_event(too_many_calls(self._n, missing, self._max_calls))
            yield DONE
            return
        if missing:
            log.info("stream_fanout", asked=self._n, missing=missing)
            bodies = single_choice_bodies(self._body, missing)
            queues = [asyncio.Queue[bytes | None]() for _ in bodies]
            fills = [
                asyncio.create_task(self._fill(b, q)) for b, q in zip(bodies, queues, strict=True)
            ]
            try:
                index = len(self._indices)
                for queue in queues:
                    used = False
                    while (event := await queue.get()) is not None:
                        rewritten = self._renumber(event, index)
                        if rewritten is not None:
                            used = True
                            yield rewritten
                    index += used  # NOTE: a failed call takes no index: no gaps for the client
            finally:
                for fill in fills:
                    fill.cancel()
                await asyncio.gather(*fills, return_exceptions=True)
        if self._usage_event is not None:
            yield (
                encode_event({**self._usage_event[0], "usage": summed_usage(self._usages)})
                if missing
                else self._usage_event[1]  # no fan-out: the upstream's bytes
            )
        yield DONE

    def _observe(self, event: bytes) -> bool:
        """Note the ids, choice indices and usage of a first-stream event; False: hold it."""
        payload = _payload(event)
        if payload is _DONE:
            return False
        if isinstance(payload, dict):
            self._id = payload.get("id", self._id)
            choices = payload.get("choices")
            if isinstance(choices, list):
                self._indices.update(c.get("index") for c in choices if isinstance(c, dict))
            if choices == [] and isinstance(payload.get("usage"), dict):
                self._usage_event = (payload, event)
                self._usages.append(payload["usage"])
                return False
        return True

    async def _fill(self, body: dict[str, Any], queue: asyncio.Queue[bytes | None]) -> None:
        stream: AsyncIterator[bytes] | None = None
        try:
            async with self._limit:
                stream = await self._open(body)
                async for block in stream:
                    for event in _events(block):
                        queue.put_nowait(event)
        except Exception as exc:  # NOTE: an extra choice must never fail the answer
            log.warning("stream_fanout_call_failed", error=type(exc).__name__)
        finally:
            queue.put_nowait(None)
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()  # NOTE: releases the upstream connection if cancelled midway

    def _renumber(self, event: bytes, index: int) -> bytes | None:
        payload = _payload(event)
        if not isinstance(payload, dict) or "error" in payload:
            return None
        choices = payload.get("choices")
        if choices == [] and isinstance(payload.get("usage"), dict):
            self._usages.append(payload["usage"])
            return None
        if not isinstance(choices, list):
            return None
        renumbered = [{**c, "index": index} for c in choices if isinstance(c, dict)]
        return encode_event({**payload, "id": self._id, "choices": renumbered})
