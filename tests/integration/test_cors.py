"""CORS: off by default; with ``SSTAR_CORS_ORIGINS`` a browser's preflight is answered.

The app runs in-process with its lifespan against the fake upstream. A preflight is what a
browser sends before a cross-origin ``POST`` with JSON and an ``Authorization`` header: an
``OPTIONS`` with ``Origin`` and ``Access-Control-Request-*``, and never the key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream

APP_ORIGIN = "http://localhost:3000"
CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hello"}]}
PREFLIGHT = {
    "origin": APP_ORIGIN,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type,x-sstar-mode,x-stainless-os",
}


@pytest.fixture
def serve(fake_upstream: FakeUpstream) -> Callable[..., Any]:
    @asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        values: dict[str, Any] = {
            "upstream_api_base": fake_upstream.base_url,
            "upstream_retries": 0,
            "log_format": "console",
            "sstar_mode": "off",
            **overrides,
        }
        app = create_app(Settings(**values))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as http:
                yield http

    return run


async def test_off_by_default_a_preflight_is_refused_and_nothing_is_allowed(serve):
    async with serve() as http:
        preflight = await http.options("/v1/chat/completions", headers=PREFLIGHT)
        answer = await http.post("/v1/chat/completions", json=CHAT, headers={"origin": APP_ORIGIN})
    assert preflight.status_code == 405
    assert preflight.json()["error"]["type"] == "invalid_request_error"
    assert answer.status_code == 200
    for response in (preflight, answer):
        assert not [name for name in response.headers if name.startswith("access-control-")]


async def test_a_listed_origin_gets_its_preflight_and_reads_the_answer(serve, fake_upstream):
    async with serve(cors_origins=f"{APP_ORIGIN}, https://ide.example", api_keys="k1") as http:
        preflight = await http.options("/v1/chat/completions", headers=PREFLIGHT)
        answer = await http.post(
            "/v1/chat/completions",
            json=CHAT,
            headers={"origin": APP_ORIGIN, "authorization": "Bearer k1"},
        )
        refused = await http.post("/v1/chat/completions", json=CHAT, headers={"origin": APP_ORIGIN})
    # The preflight is answered before the key check (it never carries the key).
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-sstar-mode", "x-stainless-os"} <= allowed
    assert "access-control-allow-credentials" not in preflight.headers
    assert not [r for r in fake_upstream.requests if r.method == "OPTIONS"]
    # The answer names the origin and exposes the proxy's own headers to the page.
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "x-sstar-applied", "x-sstar-reason", "x-sstar-overhead-ms"} <= exposed
    assert {"x-sstar-run-id", "retry-after", "x-should-retry"} <= exposed
    # An error is readable too: the page sees why, not an opaque network failure.
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN


async def test_an_origin_not_listed_is_refused_in_openais_envelope(serve):
    async with serve(cors_origins=APP_ORIGIN) as http:
        preflight = await http.options(
            "/v1/chat/completions", headers={**PREFLIGHT, "origin": "https://evil.example"}
        )
        answer = await http.post(
            "/v1/chat/completions", json=CHAT, headers={"origin": "https://evil.example"}
        )
    assert preflight.status_code == 400
    error = preflight.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "cors_not_allowed"
    assert "origin" in error["message"]
    assert "access-control-allow-origin" not in preflight.headers
    # A non-browser client is not stopped by CORS; a browser would not let the page read this.
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


async def test_a_method_not_served_is_refused(serve):
    async with serve(cors_origins=APP_ORIGIN) as http:
        preflight = await http.options(
            "/v1/chat/completions", headers={**PREFLIGHT, "access-control-request-method": "PUT"}
        )
    assert preflight.status_code == 400
    assert "method" in preflight.json()["error"]["message"]


async def test_any_origin_with_a_star(serve):
    async with serve(cors_origins="*") as http:
        preflight = await http.options(
            "/v1/models", headers={**PREFLIGHT, "origin": "https://anywhere.example"}
        )
        answer = await http.get("/v1/models", headers={"origin": "https://anywhere.example"})
        private = await http.options(
            "/v1/models",
            headers={**PREFLIGHT, "access-control-request-private-network": "true"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-origin"] == "*"
    # A public page may not reach a proxy on a private network through "*": only named origins.
    assert private.status_code == 400


async def test_a_named_origin_may_reach_a_proxy_on_a_private_network(serve):
    async with serve(cors_origins=APP_ORIGIN) as http:
        private = await http.options(
            "/v1/chat/completions",
            headers={**PREFLIGHT, "access-control-request-private-network": "true"},
        )
    assert private.status_code == 200
    assert private.headers["access-control-allow-private-network"] == "true"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://LOCALHOST:3000/", ["http://localhost:3000"]),
        (
            "https://a.example, https://b.example:8443",
            ["https://a.example", "https://b.example:8443"],
        ),
        ("http://[::1]:8080", ["http://[::1]:8080"]),
        ("*", ["*"]),
        ("", []),
    ],
)
def test_origins_are_read_as_browsers_send_them(given, kept):
    assert Settings(cors_origins=given).cors_origins == kept


@pytest.mark.parametrize(
    "given",
    ["localhost:3000", "https://a.example/app", "ftp://a.example", "*, https://a.example"],
)
def test_what_is_not_an_origin_is_refused_at_start(given):
    with pytest.raises(ValidationError, match="cors_origins"):
        Settings(cors_origins=given)
