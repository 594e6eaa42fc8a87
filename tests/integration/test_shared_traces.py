"""Two replicas sharing one Redis serve each other's traces, with the same access rules as one
process, and keep answering (and serving their own traces) when Redis stops.

Both apps run in-process with their lifespans, the same settings (client keys, trace secret,
Redis URL), the scripted fake upstream and the local sandbox (``sandbox_backend="local"``: the
programs are the test's own), against a real ``redis-server`` of the test's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.redis_server import RedisServer
from tests.sum_task import PROGRAM, SAMPLING, TASK

SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105 - a test value
LOOPBACK = ("127.0.0.1", 40000)


def respond(path: str, request: dict[str, Any]) -> Reply:
    if SAMPLING in last_user_text(request):
        return Reply(texts=[PROGRAM] * int(request.get("n") or 1))
    return Reply(text='```json\n["4 5\\n"]\n```')


@pytest.fixture
def replicas(
    fake_upstream: FakeUpstream, redis_server: RedisServer
) -> Callable[[], contextlib.AbstractAsyncContextManager[tuple[FastAPI, FastAPI]]]:
    """``async with replicas() as (a, b)``: two proxies on one Redis, lifespans running."""
    fake_upstream.responder = respond
    settings = Settings(
        upstream_api_base=fake_upstream.base_url,
        upstream_retries=0,
        log_format="console",
        num_samples=1,
        debug_rounds=0,
        deadline_s=60,
        sandbox_backend="local",
        api_keys="k1,k2",  # as the environment gives it
        trace_secret=SECRET,
        redis_url=redis_server.url,
    )

    @contextlib.asynccontextmanager
    async def open_() -> AsyncIterator[tuple[FastAPI, FastAPI]]:
        a, b = create_app(settings), create_app(settings)
        async with LifespanManager(a), LifespanManager(b):
            yield a, b

    return open_


def client(app: FastAPI, key: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=LOOPBACK)
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://proxy.test",
        headers={"authorization": f"Bearer {key}"},
        timeout=60,
    )


async def run_sstar(http: httpx.AsyncClient) -> httpx.Response:
    body = {"model": "fake-model", "messages": [{"role": "user", "content": TASK}]}
    response = await http.post("/v1/chat/completions", json=body, headers={"x-sstar-mode": "force"})
    assert response.status_code == 200, response.text
    assert response.headers["x-sstar-applied"] == "true"
    return response


async def test_a_trace_made_on_one_replica_is_read_on_the_other_by_its_key_only(replicas):
    async with (
        replicas() as (a, b),
        client(a, "k1") as a1,
        client(b, "k1") as b1,
        client(b, "k2") as b2,
    ):
        answer = await run_sstar(a1)
        run_id = answer.headers["x-sstar-run-id"]
        here = await a1.get(f"/v1/sstar/runs/{run_id}")
        there = await b1.get(f"/v1/sstar/runs/{run_id}")
        stranger = await b2.get(f"/v1/sstar/runs/{run_id}")
        unknown = await b2.get("/v1/sstar/runs/run_0123456789abcdef0123456789abcdef")
        listed = await b1.get("/v1/sstar/runs")
        page = await b1.get("/v1/sstar/runs", headers={"accept": "text/html"})
        not_listed = await b2.get("/v1/sstar/runs")
        # the signed link of A's answer opens on B without a key (the same secret signs)
        link = httpx.URL(answer.headers["x-sstar-trace-url"])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=b, client=LOOPBACK), base_url="http://proxy.test"
        ) as keyless:
            linked = await keyless.get(link.raw_path.decode())
        ready = await b1.get("/ready")
    assert here.status_code == there.status_code == 200
    assert there.json() == here.json()
    assert there.json()["id"] == run_id
    assert stranger.status_code == unknown.status_code == 404
    assert stranger.json()["error"]["code"] == unknown.json()["error"]["code"] == "run_not_found"
    assert [run["id"] for run in listed.json()["data"]] == [run_id]
    assert page.status_code == 200
    assert run_id in page.text
    assert not_listed.json()["data"] == []
    assert linked.status_code == 200
    assert linked.json() == here.json()
    assert ready.json() == {"status": "ready", "redis": "up"}


async def test_with_redis_stopped_a_replica_answers_and_serves_its_own_traces(
    replicas, redis_server
):
    async with replicas() as (a, b), client(a, "k1") as a1, client(b, "k1") as b1:
        redis_server.stop()
        run_id = (await run_sstar(a1)).headers["x-sstar-run-id"]
        mine = await a1.get(f"/v1/sstar/runs/{run_id}")
        listed = await a1.get("/v1/sstar/runs")
        elsewhere = await b1.get(f"/v1/sstar/runs/{run_id}")
        ready = await a1.get("/ready")
        health = await a1.get("/health")
        metrics = await a1.get("/metrics")
    assert mine.status_code == 200
    assert mine.json()["id"] == run_id
    assert [run["id"] for run in listed.json()["data"]] == [run_id]
    assert elsewhere.status_code == 404  # B never had it: it stayed on A while Redis was away
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "redis": "down"}
    assert health.json() == {"status": "ok"}
    assert "sstar_redis_up 0.0" in metrics.text
    assert 'sstar_redis_errors_total{operation="traces.put"}' in metrics.text
