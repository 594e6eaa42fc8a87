"""Byte-faithful pass-through to an OpenAI-compatible upstream, with a plain httpx client.

Why not litellm here: its OpenAI-compatible providers rewrite requests (tool schemas lose
``strict``/``additionalProperties``, unknown fields vanish), and a pass-through must be invisible.
So the request body goes out as the client sent it (the caller only removes the proxy's own
fields), and the response, JSON or SSE, comes back as the upstream's bytes. SSE is relayed as it
arrives; the only buffering is holding an incomplete trailing event until its blank line arrives,
so that a mid-stream failure can never splice an error event into half a JSON object.

Time: one deadline per request (``SSTAR_REQUEST_TIMEOUT_S`` unless the caller gives one) bounds
every attempt, retry and wait (``retry.py``) until the answer has arrived, for a stream until its
status line and headers have; after that httpx's read timeout bounds each chunk. Retries stop at
the status line, never after a byte was relayed. Transport failures become ``proxy.errors``:
timeouts 504, connection failures 502, upstream error statuses keep their status (with the
upstream's ``Retry-After`` and ``x-should-retry``). A 2xx whose body is not JSON is a 502
("upstream returned invalid JSON"). A stream request answered without an event stream is read
whole and returned as a body: the caller relays it as the upstream sent it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

import httpx

from proxy.errors import (
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from proxy.overhead import waiting
from proxy.settings import Settings
from proxy.upstream.retry import (
    RetryPolicy,
    call_with_retries,
    retry_after_from,
    should_retry_from,
)

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# NOTE: headers are client input, unbounded in size and number: only these travel upstream
# (OPENAI_API.md §7), plus the names an operator lists in SSTAR_FORWARD_HEADERS. Credentials
# never do: the client's key is for the proxy, the upstream gets its own.
FORWARDED_HEADERS = frozenset(
    {
        *("accept", "content-type", "user-agent"),
        *("openai-organization", "openai-project", "idempotency-key"),
    }
)
FORWARDED_PREFIX = "x-stainless-"
MAX_FORWARDED_HEADERS = 64
MAX_FORWARDED_VALUE = 8192
# What the upstream client (httpx: ASCII only; h11: no outer or control whitespace) can send.
_SENDABLE_VALUE = re.compile(r"[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*")
_RESPONSE_DROP = _HOP_BY_HOP | {
    "content-length",
    "content-encoding",
    "date",
    "server",
    "x-request-id",
}


@dataclass(frozen=True, slots=True)
class RelayedResponse:
    """A successful upstream answer: the whole body, or an iterator of its raw bytes.

    ``close`` releases a stream's upstream connection even if ``stream`` was never iterated
    (idempotent); closing it is what tells the upstream to stop generating.
    """

    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    close: Callable[[], Awaitable[None]] | None = None


def forward_headers(
    headers: Iterable[tuple[str, str]], api_key: str | None, extra: Collection[str] = ()
) -> dict[str, str]:
    """The allowlisted client headers (plus ``extra`` names, lower case), upstream auth added.

    Allowlisted names are still client input: at most :data:`MAX_FORWARDED_HEADERS` of them go,
    each at most :data:`MAX_FORWARDED_VALUE` characters of printable ASCII (outer whitespace
    trimmed); any other value is dropped, never cut or re-encoded.
    """
    out: dict[str, str] = {}
    for name, raw in headers:
        lowered, value = name.lower(), raw.strip(" \t")
        allowed = (
            lowered in FORWARDED_HEADERS or lowered.startswith(FORWARDED_PREFIX) or lowered in extra
        )
        if (
            allowed
            and len(out) < MAX_FORWARDED_HEADERS
            and len(value) <= MAX_FORWARDED_VALUE
            and _SENDABLE_VALUE.fullmatch(value)
        ):
            out[name] = value
    # NOTE: identity encoding keeps relayed bytes equal to what we hand the client.
    out["accept-encoding"] = "identity"
    if api_key:
        out["authorization"] = f"Bearer {api_key}"
    return out


def _response_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in headers.multi_items() if k.lower() not in _RESPONSE_DROP)


def status_error(status: int, body: bytes, headers: httpx.Headers) -> UpstreamError:
    """The proxy error for an upstream error response, keeping its message, type, param, code."""
    message, error_type, param, code = f"upstream returned HTTP {status}", None, None, None
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        # OpenAI nests the fields in "error"; vLLM and others put them at the top level.
        inner = payload.get("error", payload)
        if isinstance(inner, str):
            inner = {"message": inner}
        if isinstance(inner, dict):
            message = str(inner.get("message") or message)
            error_type = inner.get("type") if isinstance(inner.get("type"), str) else None
            param = inner.get("param") if isinstance(inner.get("param"), str) else None
            code = inner.get("code") if isinstance(inner.get("code"), str | int) else None
    error: UpstreamError
    if status == 429:
        error = UpstreamRateLimitError(message, param=param, code=code)
    else:
        error = UpstreamStatusError(
            message, status_code=status, error_type=error_type, param=param, code=code
        )
    error.retry_after_s = retry_after_from(headers)
    error.should_retry = should_retry_from(headers)
    return error


INVALID_JSON = "upstream returned invalid JSON"


_PARSE_LIMIT = 256 * 1024
"""Bodies up to this size are parsed whole to check them; larger ones (embeddings of many inputs
take tens of milliseconds to parse) only have to start and end like a JSON document."""


def _check_json(body: bytes) -> None:
    """A 2xx body must be JSON; anything else would only fail later, in the client's parser."""
    if len(body) > _PARSE_LIMIT:
        text = body.strip()
        if text[:1] in (b"{", b"[") and text[-1:] in (b"}", b"]"):
            return
        raise UpstreamError(INVALID_JSON)
    try:
        json.loads(body)
    except ValueError as exc:
        raise UpstreamError(INVALID_JSON) from exc


def transport_error(exc: httpx.HTTPError) -> UpstreamError:
    """Timeouts are 504, every other transport failure 502: unreachable (no connection), or the
    connection broke (reset, closed before or during the answer)."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeoutError(f"upstream timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(f"upstream unreachable ({type(exc).__name__})")
    return UpstreamError(f"upstream connection failed ({type(exc).__name__})")


def _event_boundary(data: bytes) -> int:
    """Index just past the last complete SSE event in ``data`` (0 when there is none)."""
    ends = [data.rfind(sep) + len(sep) for sep in (b"\n\n", b"\r\n\r\n") if sep in data]
    return max(ends, default=0)


_POOL_SHARDS = 8
"""httpx clients used round-robin. httpcore's pool does work proportional to (waiting requests x
open connections) on every state change, so one pool's CPU per request grows with concurrency
(measured: 1.0 ms at 1 in flight, 3.8 ms at 64); shards keep each pool small."""


class Relay:
    """Pooled httpx clients; ``post`` and ``get`` relay requests to an upstream base URL."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_error: Callable[[UpstreamError], None] | None = None,
    ):
        """``on_error`` sees every failed attempt (``RetryPolicy.observer``)."""
        self._settings = settings
        self._policy = RetryPolicy.from_settings(settings, observer=on_error)
        self._shards = [
            httpx.AsyncClient(
                timeout=httpx.Timeout(
                    settings.request_timeout_s, connect=settings.connect_timeout_s
                ),
                # NOTE: expire idle connections before the upstream does (uvicorn, hence vLLM,
                # closes them after 5 s), so a request never lands on a connection being closed.
                limits=httpx.Limits(
                    max_connections=256, max_keepalive_connections=64, keepalive_expiry=4
                ),
                transport=transport,
                follow_redirects=False,
            )
            for _ in range(_POOL_SHARDS)
        ]
        self._next = 0
        self._client = self._shards[0]

    def _pick(self) -> httpx.AsyncClient:
        self._next = (self._next + 1) % len(self._shards)
        return self._shards[self._next]

    async def aclose(self) -> None:
        for client in self._shards:
            await client.aclose()

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        stream: bool,
        deadline: float | None = None,
    ) -> RelayedResponse:
        """POST ``body`` to ``url``; retried until a 2xx status line, then relayed. ``deadline``
        (event-loop time) defaults to ``SSTAR_REQUEST_TIMEOUT_S`` from now."""
        request = self._client.build_request("POST", url, content=body, headers=headers)
        return await self._send(request, stream=stream, deadline=deadline)

    async def get(self, url: str, headers: Mapping[str, str]) -> RelayedResponse:
        """GET ``url`` and return the whole body (e.g. ``/models``)."""
        request = self._client.build_request("GET", url, headers=headers)
        return await self._send(request, stream=False, deadline=None)

    async def probe(self, url: str, headers: Mapping[str, str], *, timeout_s: float) -> bool:
        """One quick GET (no retries) for readiness: True when the upstream answers below 500."""
        try:
            response = await self._client.get(url, headers=headers, timeout=timeout_s)
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    def deadline(self) -> float:
        """A request's deadline if it starts now (event-loop time)."""
        return asyncio.get_running_loop().time() + self._settings.request_timeout_s

    async def _send(
        self, request: httpx.Request, *, stream: bool, deadline: float | None
    ) -> RelayedResponse:
        until = self.deadline() if deadline is None else deadline

        async def attempt() -> RelayedResponse:
            try:
                async with asyncio.timeout_at(until):
                    return await self._attempt(request, stream=stream)
            except TimeoutError as exc:
                timeout = self._settings.request_timeout_s
                raise UpstreamTimeoutError(
                    f"upstream did not answer within the request timeout ({timeout:g} s)"
                ) from exc

        # NOTE: the request's wait on the upstream, retries included (proxy.overhead).
        with waiting():
            return await call_with_retries(self._policy, attempt, deadline=until)

    async def _attempt(self, request: httpx.Request, *, stream: bool) -> RelayedResponse:
        try:
            response = await self._pick().send(request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc
        sse = response.headers.get("content-type", "").startswith("text/event-stream")
        if response.status_code >= 400 or not stream or not sse:
            try:
                body = await response.aread()
            except httpx.HTTPError as exc:
                raise transport_error(exc) from exc
            finally:
                await response.aclose()
            if response.status_code >= 400:
                raise status_error(response.status_code, body, response.headers)
            if response.status_code != 204:
                _check_json(body)
            return RelayedResponse(
                response.status_code, _response_headers(response.headers), body=body
            )
        return RelayedResponse(
            response.status_code,
            _response_headers(response.headers),
            stream=self._iter_stream(response),
            close=response.aclose,
        )

    async def _iter_stream(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """Upstream SSE bytes as they arrive, event-aligned; always closes the response."""
        pending = b""
        try:
            async for chunk in response.aiter_bytes():
                data = pending + chunk if pending else chunk
                cut = _event_boundary(data)
                if cut:
                    yield data[:cut]
                pending = data[cut:]
            if pending:
                yield pending
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc
        finally:
            await response.aclose()
