"""What one client request may cost the upstream, and how long it may take.

The SDKs' own retries must not multiply the proxy's; a ``Retry-After`` above the cap is relayed
at once; pass-through ``n`` fan-out is capped and shares the request's deadline; a stream request
answered in JSON is relayed as sent; an S* run that will not end is cut at its deadline plus
the answer grace. The fault-by-route matrix is ``test_fault_matrix.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from asgi_lifespan import LifespanManager

from proxy.api.sstar import ANSWER_GRACE_S
from proxy.app import create_app
from proxy.settings import Settings
from proxy.upstream.base import UpstreamRequest, UpstreamResponse
from proxy.upstream.litellm_client import warm_up
from sandbox import LocalSandbox
from tests.fake_upstream import FakeUpstream, Reply
from tests.servers import ServerThread
from tests.sse import sse_payloads
from tests.sum_task import TASK as SUM_TASK

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
SLACK_S = 1.5


@pytest.fixture
def proxy_url(make_settings) -> Iterator[str]:
    """The proxy as a real server (the SDK needs one), two retries, no back-off."""
    settings = make_settings(upstream_retries=2, request_timeout_s=5)
    server = ServerThread(create_app(settings)).start()
    yield f"{server.url}/v1"
    server.stop()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=429, error="slow", headers={"retry-after": "0"}), openai.RateLimitError),
        (Reply(status=500, error="boom", error_type="server_error"), openai.InternalServerError),
    ],
)
def test_the_sdks_retries_do_not_multiply_the_proxys(proxy_url, fake_upstream, reply, error):
    fake_upstream.responder = lambda path, body: reply
    sdk = openai.OpenAI(base_url=proxy_url, api_key="x", max_retries=2, timeout=30)
    with sdk, pytest.raises(error):
        sdk.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    # the proxy retried twice and said so (x-should-retry: false): the SDK did not resend
    assert len(fake_upstream.requests) == 3


async def test_a_retry_after_above_the_cap_is_relayed_at_once(client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(
        status=429, error="slow", headers={"retry-after": "60"}
    )
    response = await client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    assert response.headers["x-should-retry"] == "true"  # the proxy did not spend a retry
    assert len(fake_upstream.requests) == 1


async def test_fan_out_beyond_the_cap_is_a_400_naming_n(client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(texts=["one"])  # ignores n
    response = await client.post("/v1/chat/completions", json={**CHAT, "n": 128})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["type"]) == ("n", "invalid_request_error")
    assert "at most 16 extra call(s)" in error["message"]
    assert len(fake_upstream.requests) == 1


async def test_a_stream_needing_more_fan_out_ends_with_an_error_naming_n(client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(texts=["one"])
    response = await client.post("/v1/chat/completions", json={**CHAT, "n": 40, "stream": True})
    assert response.status_code == 200
    events = sse_payloads(response.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["param"] == "n"
    assert any(e["choices"][0]["delta"].get("content") == "one" for e in events[:-2])
    assert len(fake_upstream.requests) == 1


async def test_fan_out_calls_share_the_requests_deadline(make_settings, fake_upstream):
    def respond(path: str, body: dict[str, Any]) -> Reply:
        if body.get("n") == 1:
            return Reply(texts=["extra"], delay_s=0.5)  # would fit in a deadline of their own
        return Reply(texts=["first"], delay_s=0.7)  # the first call ignores n

    fake_upstream.responder = respond
    timeout = 1.0
    app = create_app(make_settings(request_timeout_s=timeout, upstream_retries=2))
    started = time.monotonic()
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post("/v1/chat/completions", json={**CHAT, "n": 3}, timeout=30)
    assert time.monotonic() - started < timeout + SLACK_S
    assert response.status_code == 200
    # the extra calls started 0.7 s into a 1 s request: cut at its deadline, 0.3 s later
    assert [c["message"]["content"] for c in response.json()["choices"]] == ["first"]
    assert response.headers["x-sstar-fanout"] == "2 call(s) added 0 choice(s)"
    assert len(fake_upstream.requests) == 3  # and no time was left to retry them


@pytest.mark.parametrize("texts", [[], ["only one"]])
async def test_a_stream_request_answered_in_json_is_relayed_as_sent(client, fake_upstream, texts):
    fake_upstream.responder = lambda path, body: Reply(texts=texts, stream=False)
    response = await client.post("/v1/chat/completions", json={**CHAT, "n": 3, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "[DONE]" not in response.text
    assert [c["message"]["content"] for c in response.json()["choices"]] == texts
    assert len(fake_upstream.requests) == 1  # no fan-out


class _StubbornUpstream:
    """An upstream call that ignores its first cancellation (a misbehaving adapter)."""

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(30)
        raise AssertionError("unreachable")


async def test_a_run_that_will_not_end_is_cut_at_its_deadline_plus_the_grace(
    fake_upstream: FakeUpstream,
) -> None:
    deadline = 0.5
    settings = Settings(
        upstream_api_base=fake_upstream.base_url,
        sandbox_backend="local",
        deadline_s=deadline,
        log_format="console",
    )
    app = create_app(settings, upstream=_StubbornUpstream(), sandbox=LocalSandbox())
    task = "Write a Python function add(a, b) that returns a + b.\n>>> add(1, 2)\n3"
    body = {"model": "fake-model", "messages": [{"role": "user", "content": task}]}
    started = time.monotonic()
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post(
                "/v1/chat/completions", json=body, headers={"x-sstar-mode": "force"}, timeout=30
            )
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json()["error"]["message"] == "S* run did not end within its deadline (0.5 s)"
    assert response.headers["x-should-retry"] == "false"
    assert deadline + ANSWER_GRACE_S <= elapsed < deadline + ANSWER_GRACE_S + SLACK_S


@pytest.mark.bwrap
async def test_a_run_the_upstream_starts_refusing_answers_with_what_it_has(
    make_settings, fake_upstream
):
    warm_up()  # NOTE: the first litellm import (seconds) is not what this test is about
    # two programs that agree on the example: selection needs the synthesized inputs
    programs = [
        "```python\nprint(sum(map(int, input().split())))\n```",
        "```python\nprint(sum(int(x) for x in input().split()))\n```",
    ]

    def respond(path: str, body: dict[str, Any]) -> Reply:
        if "Write a complete Python 3 program" in str(body["messages"]):  # sampling
            return Reply(texts=(programs * 2)[: int(body.get("n") or 1)])
        # input synthesis, answered after sampling went out
        return Reply(status=429, error="slow", headers={"retry-after": "0"}, delay_s=0.3)

    fake_upstream.responder = respond
    settings = make_settings(
        sstar_mode="force", num_samples=4, debug_rounds=1, upstream_retries=2, deadline_s=30
    )
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            body = {"model": "fake-model", "messages": [{"role": "user", "content": SUM_TASK}]}
            response = await http.post("/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 200
    assert "print(sum(" in response.json()["choices"][0]["message"]["content"]
    assert response.headers["x-sstar-applied"] == "true"
    degraded = response.headers["x-sstar-degraded"]
    assert "input synthesis: a call failed (UpstreamRateLimitError: slow)" in degraded
    # two sampling calls (greedy, n=3) and one synthesis call: the 429 was not retried
    assert len(fake_upstream.requests) == 3
