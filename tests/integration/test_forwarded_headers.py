"""Only an allowlist of client headers reaches the upstream (README "Security"; OPENAI_API.md §7).

The app runs in-process; the fake upstream is a real HTTP server that records the headers it
received. Headers are client input, unbounded in size and number: a 1 MB header or 2,000 extra
ones must stay at the proxy, while content negotiation, the SDK's identification,
``OpenAI-Organization``/``-Project``, ``Idempotency-Key`` and the operator's
``SSTAR_FORWARD_HEADERS`` names go through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from proxy.app import create_app
from proxy.settings import Settings
from proxy.upstream.relay import MAX_FORWARDED_HEADERS, MAX_FORWARDED_VALUE
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.sum_task import TASK

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
ALLOWED = {
    "accept": "application/json",
    "content-type": "application/json",
    "user-agent": "OpenAI/Python 1.99.0",
    "openai-organization": "org-1",
    "openai-project": "proj-1",
    "idempotency-key": "idem-1",
    "x-stainless-lang": "python",
    "x-stainless-retry-count": "0",
}
OPERATOR = {"x-tenant": "blue", "X-Trace-Context": "t-1"}
HOSTILE = {
    "x-big": "b" * 1_000_000,
    "cookie": "session=secret",
    "authorization": "Bearer client-key",
    "x-api-key": "client-key",
    "x-forwarded-for": "10.0.0.1",
    "x-request-id": "req-1",
    "x-sstar-mode": "off",
    **{f"x-extra-{i}": f"v{i}" for i in range(2_000)},
}


@pytest.fixture
async def http(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        upstream_api_key="sk-upstream", forward_headers="X-Tenant, x-trace-context"
    )
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as c:
            yield c


def assert_only_allowed(received: dict[str, str]) -> None:
    for name, value in ALLOWED.items():
        assert received.get(name) == value, name
    assert received["x-tenant"] == "blue"
    assert received["x-trace-context"] == "t-1"
    assert received["authorization"] == "Bearer sk-upstream"  # the upstream's, not the client's
    assert received["accept-encoding"] == "identity"
    for name in HOSTILE:
        if name != "authorization":
            assert name not in received, name
    assert sum(len(v) for v in received.values()) < 10_000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", CHAT),
        ("/v1/completions", {"model": "fake-model", "prompt": "def f("}),
        ("/v1/embeddings", {"model": "fake-model", "input": "hi"}),
    ],
)
async def test_only_allowlisted_and_operator_headers_reach_the_upstream(
    http, fake_upstream, path, body
):
    response = await http.post(path, json=body, headers={**ALLOWED, **OPERATOR, **HOSTILE})
    assert response.status_code == 200, response.text
    assert_only_allowed(fake_upstream.last.headers)


async def test_the_model_list_is_asked_for_with_the_same_allowlist(http, fake_upstream):
    response = await http.get("/v1/models", headers={**ALLOWED, **OPERATOR, **HOSTILE})
    assert response.status_code == 200
    assert_only_allowed(fake_upstream.last.headers)


async def test_allowlisted_headers_are_bounded_in_number_and_size(http, fake_upstream):
    many = {f"x-stainless-x{i}": "1" for i in range(200)}
    huge = {"user-agent": "u" * (MAX_FORWARDED_VALUE + 1), "openai-project": "p"}
    response = await http.post("/v1/chat/completions", json=CHAT, headers={**huge, **many})
    assert response.status_code == 200
    received = fake_upstream.last.headers
    assert received.get("user-agent", "") != huge["user-agent"]
    assert received["openai-project"] == "p"
    forwarded = [name for name in received if name.startswith("x-stainless-x")]
    assert 0 < len(forwarded) < MAX_FORWARDED_HEADERS


async def test_values_that_cannot_be_sent_on_are_dropped_not_a_5xx(http, fake_upstream):
    headers = [
        (b"user-agent", b"caf\xe9"),  # latin-1: legal from a client, not sendable by httpx
        (b"content-type", b" "),
        (b"openai-project", b"  p-1\t"),
        (b"x-stainless-os", b"a\x01b"),
    ]
    response = await http.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 200, response.text
    received = fake_upstream.last.headers
    assert received["openai-project"] == "p-1"
    assert "x-stainless-os" not in received
    assert received.get("user-agent", "").isascii()


# --- S*: its sub-calls go through litellm with no client header at all --------------------------


@pytest.mark.bwrap
async def test_sstar_sub_calls_carry_no_client_header(make_settings, fake_upstream: FakeUpstream):
    def respond(path: str, request: dict[str, Any]) -> Reply:
        if "Write a complete Python 3 program" in last_user_text(request):
            return Reply(texts=["```python\nprint(sum(map(int, input().split())))\n```"])
        return Reply(text='```json\n["4 5\\n"]\n```')

    fake_upstream.responder = respond
    settings = make_settings(
        sstar_mode="force", num_samples=1, debug_rounds=0, forward_headers="x-tenant"
    )
    app = create_app(settings)
    body = {"model": "fake-model", "messages": [{"role": "user", "content": TASK}]}
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://proxy.test", timeout=60
        ) as c:
            response = await c.post(
                "/v1/chat/completions",
                json=body,
                headers={**ALLOWED, **OPERATOR, "x-big": "b" * 100_000},
            )
    assert response.headers["x-sstar-applied"] == "true"
    assert fake_upstream.requests
    for request in fake_upstream.requests:
        sent = request.headers
        assert "x-tenant" not in sent
        assert "x-big" not in sent
        assert sent.get("openai-project") != ALLOWED["openai-project"]
        assert sent.get("idempotency-key") != ALLOWED["idempotency-key"]
        assert sent.get("user-agent") != ALLOWED["user-agent"]
