"""How the server degrades when S* cannot answer: capacity, upstream failure, server policy.

The app runs in-process with its lifespan (real bubblewrap sandbox) against the scripted fake
upstream on loopback. Auto-mode requests fall back to pass-through and say why; forced requests
and ``on_scaling_failure="error"`` get the error instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, RecordedRequest, Reply, last_user_text
from tests.sum_task import PROGRAM, SAMPLING, TASK

pytestmark = pytest.mark.bwrap


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "fake-model",
        "messages": [{"role": "user", "content": TASK}],
        "user": uuid.uuid4().hex,
        **extra,
    }


def scripted(*, sample_delay_s: float = 0.0, sample_status: int = 200) -> Any:
    def respond(path: str, request: dict[str, Any]) -> Reply:
        text = last_user_text(request)
        if SAMPLING in text:
            if sample_status != 200:
                return Reply(
                    status=sample_status, error="upstream broke", error_type="server_error"
                )
            return Reply(texts=[PROGRAM] * int(request.get("n") or 1), delay_s=sample_delay_s)
        if sample_status != 200:
            return Reply(text="plain pass-through answer")
        return Reply(text='```json\n["4 5\\n"]\n```')

    return respond


@pytest.fixture
def make_client(
    fake_upstream: FakeUpstream,
) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = {
            "upstream_api_base": fake_upstream.base_url,
            "upstream_retries": 0,
            "log_format": "console",
            "num_samples": 2,
            "debug_rounds": 0,
            "deadline_s": 30,
        }
        values.update(overrides)
        return _AppClient(create_app(Settings(**values)))

    return make


class _AppClient:
    """An in-process client for an app whose lifespan runs for the ``async with`` block."""

    def __init__(self, app: Any) -> None:
        self._manager = LifespanManager(app)
        self._app = app

    async def __aenter__(self) -> httpx.AsyncClient:
        await self._manager.__aenter__()
        transport = httpx.ASGITransport(app=self._app)
        self._http = httpx.AsyncClient(
            transport=transport, base_url="http://proxy.test", timeout=60
        )
        return self._http

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()
        await self._manager.__aexit__(None, None, None)


def _sampling_requests(fake: FakeUpstream) -> list[RecordedRequest]:
    return [
        r for r in fake.requests if isinstance(r.json, dict) and SAMPLING in last_user_text(r.json)
    ]


async def test_at_capacity_auto_passes_through_and_force_is_429(make_client, fake_upstream):
    # The first run holds the only slot while its sampling call waits (ended by the disconnect).
    fake_upstream.responder = scripted(sample_delay_s=30.0)
    async with make_client(max_concurrent_runs=1) as http:
        first = asyncio.create_task(http.post("/v1/chat/completions", json=body()))
        assert await asyncio.to_thread(
            fake_upstream.wait_for, lambda: bool(_sampling_requests(fake_upstream)), 30.0
        )
        second = await http.post("/v1/chat/completions", json=body())
        forced = await http.post(
            "/v1/chat/completions", json=body(), headers={"x-sstar-mode": "force"}
        )
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
    held = _sampling_requests(fake_upstream)
    assert await asyncio.to_thread(
        fake_upstream.wait_for, lambda: all(r.disconnected for r in held), 30.0
    )
    assert second.status_code == 200
    assert second.headers["x-sstar-applied"] == "false"
    assert second.headers["x-sstar-reason"] == "S* at capacity; answered by pass-through"
    assert forced.status_code == 429
    assert int(forced.headers["retry-after"]) >= 1
    error = forced.json()["error"]
    assert error["type"] == "rate_limit_error"
    assert "Too many S* runs in progress" in error["message"]


async def test_failed_run_falls_back_unless_forced(make_client, fake_upstream):
    fake_upstream.responder = scripted(sample_status=500)
    async with make_client() as http:
        fallback = await http.post("/v1/chat/completions", json=body())
        forced = await http.post(
            "/v1/chat/completions", json=body(), headers={"x-sstar-mode": "force"}
        )
    assert fallback.status_code == 200
    assert fallback.headers["x-sstar-applied"] == "false"
    assert "S* run failed" in fallback.headers["x-sstar-reason"]
    assert fallback.json()["choices"][0]["message"]["content"] == "plain pass-through answer"
    assert forced.status_code == 500  # the upstream's class, kept
    assert forced.json()["error"]["type"] == "server_error"
    assert "upstream broke" in forced.json()["error"]["message"]


async def test_server_policy_error_refuses_the_fallback(make_client, fake_upstream):
    fake_upstream.responder = scripted(sample_status=500)
    async with make_client(on_scaling_failure="error") as http:
        response = await http.post("/v1/chat/completions", json=body())
    assert response.status_code == 500  # the upstream's class, kept
    assert response.json()["error"]["type"] == "server_error"
    assert "upstream broke" in response.json()["error"]["message"]
    assert "x-sstar-applied" not in response.headers


async def test_mode_off_passes_through_without_running_anything(make_client, fake_upstream):
    fake_upstream.responder = scripted()
    async with make_client(sstar_mode="off") as http:
        response = await http.post("/v1/chat/completions", json=body())
    assert response.headers["x-sstar-applied"] == "false"
    assert "mode off" in response.headers["x-sstar-reason"]
    assert len(fake_upstream.requests) == 1
