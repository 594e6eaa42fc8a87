"""Input a client controls is answered with a 400 naming the problem, never a 5xx or no reply.

Each case here once crashed the proxy or slipped through: JSON nested ~1,000 levels deep (500,
``RecursionError``), a lone surrogate in a body the proxy re-encodes (500,
``UnicodeEncodeError``), an upstream error with ``\\r`` copied into ``x-sstar-reason`` (uvicorn
dropped the connection), ``"stream": "yes"`` answered as a non-stream, a NaN penalty forwarded.
``test_fuzz.py`` generalises them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.servers import ServerThread
from tests.sum_task import TASK

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def nested(depth: int) -> bytes:
    return b'{"model": "fake-model", "messages": ' + b"[" * depth + b"]" * depth + b"}"


# NOTE: each test loops over its cases on one app (an app's start-up proves the sandbox, ~1 s).


async def test_deep_nesting_is_a_400(client, fake_upstream):
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
        for depth in (200, 1_000, 50_000):
            response = await client.post(path, content=nested(depth))
            assert response.status_code == 400, (path, depth)
            assert "nested too deeply" in response.json()["error"]["message"]
    assert not fake_upstream.requests


async def test_a_lone_surrogate_is_a_400_naming_the_parameter(client, fake_upstream):
    # Raw, and with our own fields that make the proxy re-encode the body (once a 500).
    extension = {"sstar": {"mode": "off"}}
    for extra in ({}, extension, {"model": "sstar/fake-model", **extension}):
        body = {**CHAT, "messages": [{"role": "user", "content": "a\ud800b"}], **extra}
        raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as \ud800
        response = await client.post("/v1/chat/completions", content=raw)
        assert response.status_code == 400, extra
        error = response.json()["error"]
        assert error["param"] == "messages[0].content"
        assert "surrogate" in error["message"]
    assert not fake_upstream.requests


async def test_non_finite_numbers_are_a_400(client, fake_upstream):
    cases = [
        (b'"presence_penalty": NaN', "NaN"),
        (b'"frequency_penalty": -Infinity', "-Infinity"),
        (b'"temperature": 1e999', "1e999"),
        (b'"logit_bias": {"42": Infinity}', "Infinity"),
    ]
    for raw, fragment in cases:
        body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], ' + raw + b"}"
        response = await client.post("/v1/chat/completions", content=body)
        assert response.status_code == 400, raw
        assert f"`{fragment}`" in response.json()["error"]["message"]
    assert not fake_upstream.requests


WRONG_TYPES = [
    ("stream", "yes"),
    ("stream", 1),
    ("stream", "true"),
    ("n", "2"),
    ("n", True),
    ("n", 2.0),
    ("temperature", "0.5"),
    ("top_p", False),
    ("presence_penalty", "1"),
    ("logit_bias", {"42": "1"}),
    ("max_tokens", 10.0),
    ("max_completion_tokens", "10"),
    ("seed", 1.5),
    ("logprobs", "yes"),
    ("stream_options", {"include_usage": 1}),
]


async def test_wrong_types_are_a_400_naming_the_parameter(client, fake_upstream):
    for field, value in WRONG_TYPES:
        response = await client.post("/v1/chat/completions", json={**CHAT, field: value})
        assert response.status_code == 400, (field, value, response.text)
        assert response.json()["error"]["param"].startswith(field), (field, value)
    for sstar, param in (
        ({"samples": "4"}, "sstar.samples"),
        ({"progress": "yes"}, "sstar.progress"),
    ):
        response = await client.post("/v1/chat/completions", json={**CHAT, "sstar": sstar})
        assert response.status_code == 400, sstar
        assert response.json()["error"]["param"] == param
    assert not fake_upstream.requests


async def test_well_typed_fields_still_pass_through(client, fake_upstream):
    body = {
        **CHAT,
        "stream": False,
        "n": 1,
        "temperature": 1,
        "top_p": 0.5,
        "presence_penalty": -1.5,
        "logit_bias": {"42": -100},
        "max_tokens": 10,
        "seed": 2**40,
    }
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert fake_upstream.last.json == body


# --- an upstream error with CR/LF becomes a safe header over a real server ------------------


@pytest.fixture
def proxy_url(fake_upstream: FakeUpstream) -> Iterator[str]:
    settings = Settings(
        upstream_api_base=fake_upstream.base_url,
        upstream_retries=0,
        log_format="console",
        num_samples=1,
        debug_rounds=0,
    )
    with ServerThread(create_app(settings)) as server:
        yield server.url


@pytest.mark.bwrap
def test_an_upstream_error_with_crlf_still_gets_a_reply(proxy_url, fake_upstream):
    def respond(path: str, request: dict[str, Any]) -> Reply:
        if "Write a complete Python 3 program" in last_user_text(request):
            return Reply(status=400, error="bad\r\nx-injected: 1\rthing \u00e9")
        return Reply(text="plain pass-through answer")

    fake_upstream.responder = respond
    body = {"model": "fake-model", "messages": [{"role": "user", "content": TASK}]}
    response = httpx.post(f"{proxy_url}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 200
    assert response.headers["x-sstar-applied"] == "false"
    reason = response.headers["x-sstar-reason"]
    assert "bad x-injected: 1 thing ?" in reason
    assert "x-injected" not in response.headers
    assert response.json()["choices"][0]["message"]["content"] == "plain pass-through answer"
