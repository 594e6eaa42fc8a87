"""S* traces are private: only the client key that made a run reads its trace (README "Security").

A trace holds the client's prompt and every candidate program. The app runs in-process with its
lifespan and the real bubblewrap sandbox against the scripted fake upstream; the client address
that decides "loopback" is the ASGI scope's, set through ``httpx.ASGITransport(client=...)``.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.sum_task import PROGRAM, SAMPLING, TASK

pytestmark = pytest.mark.bwrap

LOOPBACK = ("127.0.0.1", 40000)
REMOTE = ("203.0.113.7", 1234)


def respond(path: str, request: dict[str, Any]) -> Reply:
    if SAMPLING in last_user_text(request):
        return Reply(texts=[PROGRAM] * int(request.get("n") or 1))
    return Reply(text='```json\n["4 5\\n"]\n```')


@pytest.fixture
def open_app(fake_upstream: FakeUpstream) -> Callable[..., Any]:
    """``async with open_app(**settings) as app``: the proxy, its lifespan running."""
    fake_upstream.responder = respond

    @contextlib.asynccontextmanager
    async def open_(**overrides: Any) -> AsyncIterator[FastAPI]:
        values: dict[str, Any] = {
            "upstream_api_base": fake_upstream.base_url,
            "upstream_retries": 0,
            "log_format": "console",
            "num_samples": 1,
            "debug_rounds": 0,
            "deadline_s": 60,
            **overrides,
        }
        app = create_app(Settings(**values))
        async with LifespanManager(app):
            yield app

    return open_


def client(app: FastAPI, address: tuple[str, int], key: str | None = None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=app, client=address)
    return httpx.AsyncClient(
        transport=transport, base_url="http://proxy.test", headers=headers, timeout=60
    )


async def run_sstar(http: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    body = {"model": "fake-model", "messages": [{"role": "user", "content": TASK}], **extra}
    response = await http.post("/v1/chat/completions", json=body, headers={"x-sstar-mode": "force"})
    assert response.status_code == 200, response.text
    assert response.headers["x-sstar-applied"] == "true"
    return response


def unknown_id() -> str:
    return "run_" + secrets.token_hex(16)


def same_404(refused: httpx.Response, run_id: str, unknown: httpx.Response, other: str) -> None:
    """``refused`` is exactly the answer for an unknown id (status, body, headers)."""
    assert refused.status_code == unknown.status_code == 404
    assert refused.text.replace(run_id, "ID") == unknown.text.replace(other, "ID")
    assert refused.json()["error"]["code"] == "run_not_found"
    skip = {"x-request-id"}
    assert {k: v for k, v in refused.headers.items() if k not in skip} == {
        k: v for k, v in unknown.headers.items() if k not in skip
    }


async def test_with_client_keys_only_the_key_that_made_the_run_reads_its_trace(open_app):
    async with (
        open_app(api_keys="k1,k2") as app,
        client(app, LOOPBACK, "k1") as k1,
        client(app, LOOPBACK, "k2") as k2,
        client(app, LOOPBACK) as anonymous,
    ):
        run_id = (await run_sstar(k1)).headers["x-sstar-run-id"]
        mine = await k1.get(f"/v1/sstar/runs/{run_id}")
        theirs = await k2.get(f"/v1/sstar/runs/{run_id}")
        other = unknown_id()
        unknown = await k2.get(f"/v1/sstar/runs/{other}")
        nobody = await anonymous.get(f"/v1/sstar/runs/{run_id}")
    assert mine.status_code == 200
    assert mine.json()["id"] == run_id
    assert TASK.splitlines()[0] in str(mine.json())
    same_404(theirs, run_id, unknown, other)
    assert nobody.status_code == 401


async def test_public_traces_do_not_open_a_keyed_server(open_app):
    async with (
        open_app(api_keys="k1,k2", public_traces=True) as app,
        client(app, REMOTE, "k1") as k1,
        client(app, REMOTE, "k2") as k2,
    ):
        run_id = (await run_sstar(k1)).headers["x-sstar-run-id"]
        assert (await k2.get(f"/v1/sstar/runs/{run_id}")).status_code == 404
        assert (await k1.get(f"/v1/sstar/runs/{run_id}")).status_code == 200


async def test_without_keys_only_loopback_clients_read_traces(open_app):
    async with (
        open_app() as app,
        client(app, LOOPBACK) as local,
        client(app, REMOTE, "whatever") as remote,
        client(app, ("::1", 5)) as local6,
    ):
        run_id = (await run_sstar(remote)).headers["x-sstar-run-id"]
        from_remote = await remote.get(f"/v1/sstar/runs/{run_id}")
        other = unknown_id()
        unknown = await remote.get(f"/v1/sstar/runs/{other}")
        from_local = await local.get(f"/v1/sstar/runs/{run_id}")
        from_local6 = await local6.get(f"/v1/sstar/runs/{run_id}")
    same_404(from_remote, run_id, unknown, other)
    assert from_local.status_code == from_local6.status_code == 200
    assert from_local.json()["id"] == run_id


async def test_public_traces_serve_any_client_when_no_keys_are_set(open_app):
    async with open_app(public_traces=True) as app, client(app, REMOTE) as remote:
        run_id = (await run_sstar(remote)).headers["x-sstar-run-id"]
        trace = await remote.get(f"/v1/sstar/runs/{run_id}")
    assert trace.status_code == 200
    assert trace.json()["id"] == run_id


async def test_nothing_in_the_answer_reveals_the_run_id(open_app):
    async with open_app() as app, client(app, LOOPBACK) as local:
        answers = [await run_sstar(local, user=str(i)) for i in range(2)]
        streamed = await run_sstar(local, user="s", stream=True)
    for response in [*answers, streamed]:
        run_id = response.headers["x-sstar-run-id"]
        assert re.fullmatch(r"run_[0-9a-f]{32}", run_id)  # 128 random bits
        random_part = run_id.removeprefix("run_")
        assert random_part not in response.text
        # NOTE: the trace link names the run by design: it is the answer's way to its page.
        named = ("x-sstar-run-id", "x-sstar-trace-url")
        shown = {k: v for k, v in response.headers.items() if k not in named}
        assert random_part not in str(shown)
    completion_ids = [a.json()["id"] for a in answers]
    assert all(re.fullmatch(r"chatcmpl-[0-9a-f]{32}", i) for i in completion_ids)
    assert len({*completion_ids, *(a.headers["x-sstar-run-id"] for a in answers)}) == 4


async def test_a_store_of_size_zero_keeps_no_trace(open_app):
    async with open_app(run_store_size=0) as app, client(app, LOOPBACK) as local:
        run_id = (await run_sstar(local)).headers["x-sstar-run-id"]
        trace = await local.get(f"/v1/sstar/runs/{run_id}")
        assert await app.state.sstar.store.get(run_id, owner=None) is None
    assert trace.status_code == 404
