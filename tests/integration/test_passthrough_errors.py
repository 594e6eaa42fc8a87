"""Upstream faults and bad input become OpenAI error envelopes with fitting statuses."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from structlog.testing import capture_logs

from proxy.app import create_app
from tests.fake_upstream import Reply

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _post(settings, path="/v1/chat/completions", **kwargs) -> httpx.Response:
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            return await http.post(path, **kwargs)


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    ("content", "param", "fragment"),
    [
        (b"{not json", None, "parse the JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model", "Missing"),
        (b'{"model": "m"}', "messages", "Missing"),
        (b'{"model": "m", "messages": []}', "messages", "Invalid"),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": 5}]}',
            "messages[0].content",
            "",
        ),
        (b'{"model": "m", "messages": [{"role": "user"}], "n": "many"}', "n", ""),
        (b'{"model": "m", "messages": [{"role": "user"}], "temperature": 9}', "temperature", ""),
    ],
)
async def test_bad_input_is_400_naming_the_parameter(client, content, param, fragment):
    response = await client.post("/v1/chat/completions", content=content)
    assert response.status_code == 400
    error = _error(response)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"]
    assert response.headers["x-should-retry"] == "false"


async def test_oversized_body_is_413(make_settings):
    settings = make_settings(max_body_bytes=2048)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    response = await _post(settings, json=big)
    assert response.status_code == 413
    assert "limit" in _error(response)["message"]


async def test_oversized_chunked_body_is_413(make_settings):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1000

    response = await _post(make_settings(max_body_bytes=2048), content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("reply", "status", "error_type"),
    [
        (
            Reply(status=400, error="bad tool", error_param="tools", error_code="x"),
            400,
            "invalid_request_error",
        ),
        (
            Reply(status=404, error="no such model", error_type="not_found_error"),
            404,
            "not_found_error",
        ),
        (Reply(status=422, error="unprocessable"), 422, "invalid_request_error"),
        (Reply(status=500, error="boom", error_type="server_error"), 500, "server_error"),
        (Reply(status=503, error="overloaded", error_type="server_error"), 503, "server_error"),
    ],
)
async def test_upstream_error_status_and_message_are_kept(
    client, fake_upstream, reply, status, error_type
):
    fake_upstream.responder = lambda path, body: reply
    response = await client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == status
    error = _error(response)
    assert error["message"] == reply.error
    assert error["type"] == error_type
    assert error["param"] == reply.error_param


async def test_upstream_rate_limit_stays_429_with_retry_after(client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(
        status=429, error="slow", headers={"retry-after": "7"}
    )
    response = await client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert _error(response)["type"] == "rate_limit_error"


async def test_unknown_model_is_404(client, fake_upstream):
    fake_upstream.known_models = {"fake-model"}
    response = await client.post("/v1/chat/completions", json={**CHAT, "model": "nope"})
    assert response.status_code == 404


async def test_unknown_model_without_any_upstream_is_404(make_settings):
    settings = make_settings(upstream_api_base=None, models={"mapped": {"model": "openai/x"}})
    response = await _post(settings, json={**CHAT, "model": "unmapped"})
    assert response.status_code == 404
    assert _error(response)["code"] == "model_not_found"


async def test_unreachable_upstream_is_502(make_settings):
    settings = make_settings(upstream_api_base=f"http://127.0.0.1:{_closed_port()}/v1")
    response = await _post(settings, json=CHAT)
    assert response.status_code == 502
    assert _error(response)["type"] == "upstream_error"


async def test_upstream_timeout_is_504(make_settings, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(delay_s=2)
    response = await _post(make_settings(request_timeout_s=0.2), json=CHAT)
    assert response.status_code == 504
    assert _error(response)["type"] == "timeout"


async def test_retryable_failures_are_retried_then_succeed(make_settings, fake_upstream):
    replies = iter(
        [Reply(status=503), Reply(status=429, headers={"retry-after-ms": "10"}), Reply(text="ok")]
    )
    fake_upstream.responder = lambda path, body: next(replies)
    response = await _post(make_settings(upstream_retries=2), json={**CHAT, "stream": True})
    assert response.status_code == 200
    assert len(fake_upstream.requests) == 3


async def test_client_errors_are_not_retried(make_settings, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(status=400)
    response = await _post(make_settings(upstream_retries=3), json=CHAT)
    assert response.status_code == 400
    assert len(fake_upstream.requests) == 1


async def test_unknown_route_is_an_openai_404(client):
    response = await client.post("/v1/nothing", json={})
    assert response.status_code == 404
    assert _error(response)["type"] == "not_found_error"


async def test_unexpected_exception_is_a_generic_500(app, client):
    async def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    app.state.chat_service.chat = explode
    with capture_logs() as logs:
        response = await client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 500
    error = _error(response)
    assert "secret" not in error["message"]
    assert error["type"] == "server_error"
    assert any(entry["event"] == "request_crashed" for entry in logs)
    assert response.headers["x-request-id"]
