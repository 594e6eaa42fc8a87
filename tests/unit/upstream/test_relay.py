"""The relay: header hygiene, error translation, and byte-faithful, event-aligned streams."""

from __future__ import annotations

import asyncio
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


async def test_a_stream_request_answered_with_json_comes_back_whole():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "application/json"}, content=_pieces(b"{", b"}")
        )

    relay = _relay(handler)
    relayed = await relay.post("http://u/v1/x", b"{}", {}, stream=True)
    assert (relayed.stream, relayed.body) == (None, b"{}")
    await relay.aclose()


@pytest.mark.parametrize("stream", [False, True])
async def test_a_2xx_that_is_not_json_is_a_502(stream):
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, headers={"content-type": "application/json"}, content=b"{x")

    relay = Relay(
        Settings(upstream_retries=1, upstream_retry_backoff_s=0),
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(UpstreamError) as caught:
        await relay.post("http://u/v1/x", b"{}", {}, stream=stream)
    assert (caught.value.status_code, caught.value.message) == (
        502,
        "upstream returned invalid JSON",
    )
    assert calls == 2  # a broken answer may be a passing fault: retried like a 502
    await relay.aclose()


async def test_large_bodies_are_checked_by_their_ends_only():
    big = b'{"data": [' + b"0.125, " * 60_000 + b"0.5]}"

    def handler(request: httpx.Request) -> httpx.Response:
        body = big if request.url.path == "/ok" else big[: len(big) // 2]  # cut short
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    relay = _relay(handler)
    assert (await relay.post("http://u/ok", b"{}", {}, stream=False)).body == big
    with pytest.raises(UpstreamError, match="invalid JSON"):
        await relay.post("http://u/cut", b"{}", {}, stream=False)
    await relay.aclose()


def test_status_error_keeps_the_upstreams_retry_verdict():
    error = status_error(503, b"{}", httpx.Headers({"retry-after": "2", "x-should-retry": "false"}))
    assert (error.status_code, error.retry_after_s, error.should_retry) == (503, 2.0, False)


async def test_one_deadline_bounds_every_attempt_and_wait():
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(30)
        return httpx.Response(200, json={})

    settings = Settings(upstream_retries=3, upstream_retry_backoff_s=0, request_timeout_s=0.3)
    relay = Relay(settings, transport=httpx.MockTransport(handler))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamTimeoutError) as caught:
        await relay.post("http://u/v1/x", b"{}", {}, stream=False)
    assert loop.time() - started < 4 * 0.3  # one request timeout, not one per attempt
    assert calls == 1
    assert "request timeout (0.3 s)" in caught.value.message
    await relay.aclose()


async def test_a_retry_after_beyond_the_deadline_is_relayed_at_once():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"retry-after": "5"}, json={"error": "slow"})

    settings = Settings(upstream_retries=2, request_timeout_s=2)
    relay = Relay(settings, transport=httpx.MockTransport(handler))
    with pytest.raises(UpstreamRateLimitError) as caught:
        await relay.post("http://u/v1/x", b"{}", {}, stream=False)
    assert calls == 1
    assert (caught.value.retry_after_s, caught.value.should_retry) == (5.0, True)
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
