"""Retry versus regenerate through the whole app (README "What an S* answer looks like").

A finished run is reused only by a resend of its request: an OpenAI SDK retry
(``x-stainless-retry-count`` >= 1) or the same ``Idempotency-Key``. The same request sent again
without either is a regenerate: a new run, sampled with a new seed. A stream that joins a run
gets the run's progress from its start. The app runs in-process with its lifespan and the real
bubblewrap sandbox; the fake upstream records what every run asked for.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, RecordedRequest, Reply, last_user_text
from tests.sse import sse_payloads
from tests.sum_task import PROGRAM, SAMPLING, TASK

pytestmark = pytest.mark.bwrap


def respond(path: str, request: dict[str, Any]) -> Reply:
    if SAMPLING in last_user_text(request):
        return Reply(texts=[PROGRAM] * int(request.get("n") or 1))
    return Reply(text='```json\n["4 5\\n"]\n```')


@pytest.fixture
def open_client(fake_upstream: FakeUpstream) -> Callable[..., Any]:
    """``async with open_client() as http``: an httpx client on the proxy, lifespan running."""
    fake_upstream.responder = respond

    @contextlib.asynccontextmanager
    async def open_() -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(
            upstream_api_base=fake_upstream.base_url,
            upstream_retries=0,
            log_format="console",
            num_samples=2,
            debug_rounds=0,
            deadline_s=60,
        )
        app = create_app(settings)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://proxy.test", timeout=60
            ) as http:
                yield http

    return open_


def body(**extra: Any) -> dict[str, Any]:
    # NOTE: a unique ``user`` per test: runs kept from other tests must not be joined.
    return {
        "model": "fake-model",
        "messages": [{"role": "user", "content": TASK}],
        "user": uuid.uuid4().hex,
        **extra,
    }


async def ask(http: httpx.AsyncClient, request: dict[str, Any], **headers: str) -> httpx.Response:
    response = await http.post(
        "/v1/chat/completions", json=request, headers={"x-sstar-mode": "force", **headers}
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-sstar-applied"] == "true"
    return response


def sample_calls(fake: FakeUpstream) -> list[RecordedRequest]:
    return [r for r in fake.requests if SAMPLING in last_user_text(r.json)]


async def test_an_sdk_retry_of_a_finished_request_reuses_its_run(open_client, fake_upstream):
    request = body()
    async with open_client() as http:
        first = await ask(http, request, **{"x-stainless-retry-count": "0"})
        calls = len(fake_upstream.requests)
        retry = await ask(http, request, **{"x-stainless-retry-count": "1"})
    assert retry.headers["x-sstar-run-id"] == first.headers["x-sstar-run-id"]
    assert retry.json()["choices"] == first.json()["choices"]
    assert len(fake_upstream.requests) == calls  # nothing was asked again


async def test_the_same_request_after_its_run_finished_is_a_new_run_with_a_new_seed(
    open_client, fake_upstream
):
    request = body()
    async with open_client() as http:
        first = await ask(http, request)
        first_seeds = {r.json.get("seed") for r in sample_calls(fake_upstream)}
        fake_upstream.requests.clear()
        again = await ask(http, request)
        again_seeds = {r.json.get("seed") for r in sample_calls(fake_upstream)}
        traces = [
            (await http.get(f"/v1/sstar/runs/{r.headers['x-sstar-run-id']}")).json()
            for r in (first, again)
        ]
    assert again.headers["x-sstar-run-id"] != first.headers["x-sstar-run-id"]
    assert sample_calls(fake_upstream)  # the upstream was asked again
    assert None not in first_seeds | again_seeds
    assert first_seeds.isdisjoint(again_seeds)
    assert traces[0]["params"]["seed"] != traces[1]["params"]["seed"]


async def test_a_client_seed_is_kept_by_a_regenerate(open_client, fake_upstream):
    request = body(seed=41)
    async with open_client() as http:
        first = await ask(http, request)
        again = await ask(http, request)
    assert again.headers["x-sstar-run-id"] != first.headers["x-sstar-run-id"]
    seeds = [r.json.get("seed") for r in sample_calls(fake_upstream)]
    assert len(seeds) == 4  # two runs: a greedy and an n=1 call each
    assert set(seeds) == {41}


async def test_a_matching_idempotency_key_reuses_the_finished_run(open_client, fake_upstream):
    request = body()
    async with open_client() as http:
        first = await ask(http, request, **{"idempotency-key": "req-1"})
        same = await ask(http, request, **{"idempotency-key": "req-1"})
        other = await ask(http, request, **{"idempotency-key": "req-2"})
    assert same.headers["x-sstar-run-id"] == first.headers["x-sstar-run-id"]
    assert other.headers["x-sstar-run-id"] != first.headers["x-sstar-run-id"]
    assert len(sample_calls(fake_upstream)) == 4  # two runs, not three


async def test_a_stream_joining_a_finished_run_gets_its_progress(open_client, fake_upstream):
    request = body()
    async with open_client() as http:
        first = await ask(http, request)
        joined = await ask(
            http,
            {**request, "stream": True},
            **{"x-stainless-retry-count": "1", "x-sstar-progress": "true"},
        )
    assert joined.headers["x-sstar-run-id"] == first.headers["x-sstar-run-id"]
    chunks = [p for p in sse_payloads(joined.text) if isinstance(p, dict)]
    progress = "".join(
        c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks if c["choices"]
    )
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "[sample] started" in progress  # from the run's start
    assert "[select]" in progress
    assert content == first.json()["choices"][0]["message"]["content"]
