"""The relay: header hygiene, error translation, and byte-faithful, event-aligned streams."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from proxy.errors import (
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from proxy.settings import Settings
from proxy.upstream.relay import Relay, forward_headers, status_error, transport_error


def test_forward_headers_drops_credentials_hop_by_hop_and_ours():
    headers = [
        ("authorization", "Bearer client"),
        ("api-key", "c"),
        ("x-api-key", "c"),
        ("host", "proxy"),
        ("content-length", "10"),
        ("connection", "keep-alive"),
        ("accept-encoding", "gzip"),
        ("x-sstar-mode", "force"),
        ("X-Stainless-Lang", "python"),
        ("openai-project", "p"),
        ("content-type", "application/json"),
    ]
    out = forward_headers(headers, "sk-up")
    assert out == {
        "X-Stainless-Lang": "python",
        "openai-project": "p",
        "content-type": "application/json",
        "accept-encoding": "identity",
        "authorization": "Bearer sk-up",
    }
    assert "authorization" not in forward_headers(headers, None)


def test_status_error_keeps_openai_envelope_fields():
    body = (
        b'{"error": {"message": "bad", "type": "invalid_request_error", "param": "n", "code": 7}}'
    )
    error = status_error(400, body, httpx.Headers())
    assert isinstance(error, UpstreamStatusError)
    assert (error.status_code, error.message, error.error_type, error.param, error.code) == (
        400,
        "bad",
        "invalid_request_error",
        "n",
        7,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"object": "error", "message": "vllm says no", "type": "BadRequestError"}',
            "vllm says no",
        ),
        (b'{"error": "plain string"}', "plain string"),
        (b"<html>502</html>", "upstream returned HTTP 418"),
    ],
)
def test_status_error_understands_other_servers(body, message):
    assert status_error(418, body, httpx.Headers()).message == message


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "Wed, 21 Oct"}, None),
    ],
)
def test_rate_limit_carries_retry_after(headers, seconds):
    error = status_error(429, b"{}", httpx.Headers(headers))
    assert isinstance(error, UpstreamRateLimitError)
    assert error.retry_after_s == seconds


def test_transport_errors():
    assert isinstance(transport_error(httpx.ReadTimeout("t")), UpstreamTimeoutError)
    refused = transport_error(httpx.ConnectError("refused"))
    assert type(refused) is UpstreamError
    assert refused.status_code == 502


def _relay(handler) -> Relay:
    return Relay(Settings(upstream_retries=0), transport=httpx.MockTransport(handler))


async def _pieces(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def test_sse_is_relayed_event_aligned_and_unchanged():
    pieces = (b'data: {"a":1}\n\ndata: {"b"', b":2}\n\n", b"data: [DONE]\n\n")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_pieces(*pieces)
        )

    relay = _relay(handler)
    relayed = await relay.post("http://u/v1/chat/completions", b"{}", {}, stream=True)
    assert relayed.stream is not None
    received = [chunk async for chunk in relayed.stream]
    assert received == [b'data: {"a":1}\n\n', b'data: {"b":2}\n\n', b"data: [DONE]\n\n"]
    await relay.aclose()


async def test_non_sse_stream_is_relayed_raw():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "application/json"}, content=_pieces(b"{", b"}")
        )

    relay = _relay(handler)
    relayed = await relay.post("http://u/v1/x", b"{}", {}, stream=True)
    assert relayed.stream is not None
    assert [chunk async for chunk in relayed.stream] == [b"{", b"}"]
    await relay.aclose()


async def test_json_response_and_headers():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.content == b'{"k": 1}'
        return httpx.Response(
            200, json={"ok": True}, headers={"x-ratelimit-remaining": "9", "server": "x"}
        )

    relay = _relay(handler)
    relayed = await relay.post("http://u/v1/x", b'{"k": 1}', {}, stream=False)
    assert relayed.body == b'{"ok":true}'
    names = {name for name, _ in relayed.headers}
    assert "x-ratelimit-remaining" in names
    assert "server" not in names
    assert "content-length" not in names
    await relay.aclose()


async def test_probe():
    relay = _relay(lambda request: httpx.Response(503))
    assert not await relay.probe("http://u/v1/models", {}, timeout_s=1)
    await relay.aclose()
    relay = _relay(lambda request: httpx.Response(401))
    assert await relay.probe("http://u/v1/models", {}, timeout_s=1)
    await relay.aclose()
