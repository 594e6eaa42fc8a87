"""The proxy on remote sandbox workers (``SSTAR_SANDBOX_URLS``): S* end to end, and fail closed.

A real worker subprocess (``python -m sandbox serve``, bubblewrap inside) and the fake upstream;
the proxy runs in-process with its lifespan, configured from the environment as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.sum_task import PROGRAM, SAMPLING, TASK
from tests.workers import TOKEN, WorkerProcess

pytestmark = pytest.mark.bwrap


def respond(path: str, request: dict[str, Any]) -> Reply:
    if SAMPLING in last_user_text(request):
        return Reply(texts=[PROGRAM] * int(request.get("n") or 1))
    return Reply(text='```json\n["4 5\\n"]\n```')


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerProcess]:
    with WorkerProcess(tmp_path, "--workers", "2") as process:
        yield process


@contextlib.asynccontextmanager
async def proxy(
    fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch, urls: str
) -> AsyncIterator[httpx.AsyncClient]:
    fake_upstream.responder = respond
    monkeypatch.setenv("SSTAR_SANDBOX_URLS", urls)
    monkeypatch.setenv("SSTAR_SANDBOX_TOKEN", TOKEN)
    settings = Settings.load(
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


async def ask(http: httpx.AsyncClient, mode: str = "force") -> httpx.Response:
    body = {"model": "fake-model", "messages": [{"role": "user", "content": TASK}]}
    return await http.post("/v1/chat/completions", json=body, headers={"x-sstar-mode": mode})


def batches(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [e for e in worker.events() if e.get("event") == "batch_completed"]


async def test_sstar_runs_its_programs_on_the_worker(
    worker: WorkerProcess, fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with proxy(fake_upstream, monkeypatch, worker.url) as http:
        assert (await http.get("/ready")).status_code == 200
        answer = await ask(http)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-sstar-applied"] == "true"
    assert "sum(map(int, input().split()))" in answer.json()["choices"][0]["message"]["content"]
    summary = dict(part.split("=", 1) for part in answer.headers["x-sstar-summary"].split("; "))
    assert int(summary["executions"]) > 0
    assert summary["passed_public"] == "2"  # the public test ran, and passed, on the worker
    ran = batches(worker)
    assert ran
    assert sum(e["verdicts"].get("OK", 0) for e in ran) >= 1
    assert "x-sstar-degraded" not in answer.headers


async def test_with_no_worker_ready_sstar_fails_closed(
    worker: WorkerProcess, fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with proxy(fake_upstream, monkeypatch, worker.url) as http:
        assert (await http.get("/ready")).status_code == 200
        worker.kill()
        deadline = time.monotonic() + 20  # the background check runs every 2 s
        while (ready := await http.get("/ready")).status_code == 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        forced = await ask(http, "force")
        auto = await ask(http, "auto")
    error = ready.json()["error"]
    assert ready.status_code == 503
    assert error["code"] == "sandbox_unavailable"
    assert f"no sandbox worker is ready ({worker.url}: unreachable" in error["message"]
    assert forced.status_code == 503
    assert forced.headers["x-should-retry"] == "false"
    assert auto.status_code == 200  # passed through, and says why
    assert auto.headers["x-sstar-applied"] == "false"
    assert "sandbox unavailable: no sandbox worker is ready" in auto.headers["x-sstar-reason"]
    assert TOKEN not in str(error)
