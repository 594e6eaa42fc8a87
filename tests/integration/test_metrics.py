"""``GET /metrics`` and ``x-sstar-overhead-ms`` through the whole app.

The app runs in-process with its lifespan against the fake upstream on loopback; the S* tests
run programs in the real bubblewrap sandbox. Each test scrapes ``/metrics`` and reads it with
Prometheus' own text parser, so names, labels and values are checked as a scraper sees them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.sum_task import PROGRAM, SAMPLING, TASK

UPSTREAM_DELAY_S = 0.4

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def chat(content: str = TASK) -> dict[str, Any]:
    return {
        "model": "fake-model",
        "messages": [{"role": "user", "content": content}],
        "user": uuid.uuid4().hex,  # never shares a run with another test's
    }


def sstar_upstream(*, sample_status: int = 200) -> Callable[[str, dict[str, Any]], Reply]:
    """Samples are the right program after ``UPSTREAM_DELAY_S``; synthesis proposes one input."""

    def respond(path: str, body: dict[str, Any]) -> Reply:
        text = last_user_text(body)
        if SAMPLING in text:
            if sample_status != 200:
                return Reply(status=sample_status, error="broken", error_type="server_error")
            return Reply(texts=[PROGRAM] * int(body.get("n") or 1), delay_s=UPSTREAM_DELAY_S)
        if "hello" in text:
            return Reply(text="plain answer", delay_s=UPSTREAM_DELAY_S)
        return Reply(text='```json\n["4 5\\n"]\n```')

    return respond


@pytest.fixture
def serve(fake_upstream: FakeUpstream) -> Callable[..., Any]:
    """``async with serve(**settings) as http``: the app with its lifespan, and a client."""

    @asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        values: dict[str, Any] = {
            "upstream_api_base": fake_upstream.base_url,
            "upstream_retries": 0,
            "log_format": "console",
            "num_samples": 2,
            "debug_rounds": 0,
            "deadline_s": 30,
            **overrides,
        }
        app = create_app(Settings(**values))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://proxy.test", timeout=60
            ) as http:
                yield http

    return run


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when the series does not exist (a counter never moved)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


@pytest.mark.bwrap
async def test_a_passthrough_and_an_sstar_request_move_their_counters(serve, fake_upstream):
    fake_upstream.responder = sstar_upstream()
    async with serve() as http:
        started = time.perf_counter()
        scaled = await http.post("/v1/chat/completions", json=chat())
        scaled_s = time.perf_counter() - started
        started = time.perf_counter()
        plain = await http.post(
            "/v1/chat/completions", json=chat("hello"), headers={"x-sstar-mode": "off"}
        )
        plain_s = time.perf_counter() - started
        samples = await scrape(http)

    assert scaled.status_code == plain.status_code == 200
    assert (scaled.headers["x-sstar-applied"], plain.headers["x-sstar-applied"]) == (
        "true",
        "false",
    )
    # Requests by route template, method and status; latency and overhead by S* or not.
    chat_route = {"route": "/v1/chat/completions"}
    assert value(samples, "sstar_http_requests_total", method="POST", status="200", **chat_route)
    assert total(samples, "sstar_http_requests_total", **chat_route) == 2
    for applied in ("true", "false"):
        for histogram in ("sstar_http_request_duration_seconds", "sstar_proxy_overhead_seconds"):
            assert value(samples, histogram + "_count", sstar=applied, **chat_route) == 1
    # The detector's verdicts.
    assert value(samples, "sstar_chat_decisions_total", rule="coding_task", applied="true") == 1
    assert value(samples, "sstar_chat_decisions_total", rule="mode_off", applied="false") == 1
    # The run: one, answered; both samples pass the example as sampled; tokens by stage.
    assert total(samples, "sstar_runs_total") == 1
    answered = sum(
        value(samples, "sstar_runs_total", outcome=o) for o in ("complete", "early_stop")
    )
    assert answered == 1
    assert value(samples, "sstar_run_duration_seconds_count") == 1
    assert value(samples, "sstar_stage_duration_seconds_count", stage="sample") == 1
    assert value(samples, "sstar_samples_total") == 2
    assert value(samples, "sstar_candidates_total", state="passed") == 2
    assert value(samples, "sstar_tokens_total", stage="sample", kind="completion") > 0
    assert value(samples, "sstar_tokens_total", stage="sample", kind="prompt") > 0
    # The sandbox really ran the programs (memoised repeats are not executions).
    assert value(samples, "sstar_sandbox_executions_total", status="OK") >= 1
    assert value(samples, "sstar_sandbox_execution_seconds_count") == total(
        samples, "sstar_sandbox_executions_total"
    )
    # Capacity, and nothing left in flight.
    assert value(samples, "sstar_runs_in_flight") == 0
    assert value(samples, "sstar_runs_capacity") == 4

    # The overhead leaves out the upstream's time: each answer waited UPSTREAM_DELAY_S for it.
    for response, elapsed_s in ((scaled, scaled_s), (plain, plain_s)):
        overhead_ms = float(response.headers["x-sstar-overhead-ms"])
        assert 0 <= overhead_ms <= (elapsed_s - UPSTREAM_DELAY_S) * 1000


@pytest.mark.parametrize(
    ("reply", "error_class"),
    [
        (Reply(status=500, error="boom", error_type="server_error"), "status_5xx"),
        (Reply(status=404, error="no such model", error_type="not_found_error"), "status_4xx"),
        (Reply(status=429, error="slow down", headers={"retry-after": "60"}), "rate_limit"),
        (Reply(raw=b"<html>not json</html>"), "bad_response"),
    ],
)
async def test_failed_passthrough_attempts_are_counted_by_class(
    serve, fake_upstream, reply, error_class
):
    fake_upstream.responder = lambda path, body: reply
    async with serve(sstar_mode="off", upstream_retries=1, upstream_retry_backoff_s=0) as http:
        answer = await http.post("/v1/chat/completions", json=chat("hello"))
        samples = await scrape(http)
    assert answer.status_code >= 400
    retried = error_class in ("status_5xx", "bad_response")  # 404 is final; 60 s is too long
    expected = 2 if retried else 1
    assert len(fake_upstream.requests) == expected
    errors = "sstar_upstream_errors_total"
    assert value(samples, errors, caller="passthrough", **{"class": error_class}) == expected
    assert total(samples, errors) == expected
    status = str(answer.status_code)
    assert value(
        samples,
        "sstar_http_requests_total",
        route="/v1/chat/completions",
        method="POST",
        status=status,
    )


async def test_an_unreachable_upstream_is_a_connection_error(serve):
    async with serve(upstream_api_base="http://127.0.0.1:9/v1", sstar_mode="off") as http:
        answer = await http.post("/v1/chat/completions", json=chat("hello"))
        samples = await scrape(http)
    assert answer.status_code == 502
    errors = "sstar_upstream_errors_total"
    assert value(samples, errors, caller="passthrough", **{"class": "connection"}) == 1


@pytest.mark.bwrap
async def test_a_failed_run_and_its_fallback_are_counted(serve, fake_upstream):
    fake_upstream.responder = sstar_upstream(sample_status=500)
    async with serve() as http:
        answer = await http.post("/v1/chat/completions", json=chat())
        samples = await scrape(http)
    assert answer.status_code == 200  # passed through, and the reason says so
    assert answer.headers["x-sstar-applied"] == "false"
    assert value(samples, "sstar_runs_total", outcome="failed") == 1
    assert value(samples, "sstar_fallbacks_total", reason="run_failed", action="passthrough") == 1
    errors = "sstar_upstream_errors_total"
    assert value(samples, errors, caller="sstar", **{"class": "status_5xx"}) >= 1
    assert value(samples, "sstar_run_duration_seconds_count") == 0  # no answer, no run time


@pytest.mark.bwrap
async def test_a_forced_run_that_fails_is_a_refused_fallback(serve, fake_upstream):
    fake_upstream.responder = sstar_upstream(sample_status=500)
    async with serve() as http:
        forced = await http.post(
            "/v1/chat/completions", json=chat(), headers={"x-sstar-mode": "force"}
        )
        samples = await scrape(http)
    assert forced.status_code == 500  # the upstream's own error, not a pass-through
    assert value(samples, "sstar_fallbacks_total", reason="run_failed", action="error") == 1
    assert value(samples, "sstar_chat_decisions_total", rule="coding_task", applied="true") == 1


@pytest.mark.bwrap
async def test_a_responses_request_counts_its_verdict_and_its_fallback(serve, fake_upstream):
    fake_upstream.responder = sstar_upstream(sample_status=500)
    async with serve(upstream_responses="translate") as http:
        body = {"model": "fake-model", "input": TASK, "user": uuid.uuid4().hex}
        answer = await http.post("/v1/responses", json=body)
        samples = await scrape(http)
    assert answer.status_code == 200, answer.text  # passed through, and the reason says so
    assert answer.headers["x-sstar-applied"] == "false"
    assert value(samples, "sstar_chat_decisions_total", rule="coding_task", applied="true") == 1
    assert value(samples, "sstar_fallbacks_total", reason="run_failed", action="passthrough") == 1


async def test_metrics_need_the_client_key_unless_public(serve):
    async with serve(api_keys="k1", sstar_mode="off") as http:
        refused = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"authorization": "Bearer k2"})
        samples = await scrape(http, authorization="Bearer k1")
    assert refused.status_code == wrong.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    assert "sstar_http_requests_total" not in refused.text
    assert (
        value(samples, "sstar_http_requests_total", route="/metrics", method="GET", status="401")
        == 2
    )

    async with serve(api_keys="k1", metrics_public=True, sstar_mode="off") as http:
        await scrape(http)  # no key: served
        chat_without_key = await http.post("/v1/chat/completions", json=chat("hello"))
    assert chat_without_key.status_code == 401  # only /metrics is opened


async def test_each_app_counts_only_its_own_requests(serve):
    async with serve(sstar_mode="off") as first, serve(sstar_mode="off") as second:
        for _ in range(3):
            assert (await first.get("/health")).status_code == 200
        in_first = await scrape(first)
        in_second = await scrape(second)
    health = {"route": "/health", "method": "GET", "status": "200"}
    assert value(in_first, "sstar_http_requests_total", **health) == 3
    assert value(in_second, "sstar_http_requests_total", **health) == 0


async def test_paths_no_route_knows_share_one_label(serve):
    async with serve(sstar_mode="off") as http:
        for path in ("/a", "/b/c", "/v1/%ff"):
            assert (await http.get(path)).status_code == 404
        samples = await scrape(http)
    routes = {dict(ls).get("route") for (n, ls) in samples if n == "sstar_http_requests_total"}
    assert routes == {"unmatched"}
    assert (
        value(samples, "sstar_http_requests_total", route="unmatched", method="GET", status="404")
        == 3
    )


@pytest.mark.bwrap
async def test_a_shared_run_is_counted_once_and_its_wait_is_not_overhead(serve, fake_upstream):
    fake_upstream.responder = sstar_upstream()
    body = chat()  # the same body twice: the second request joins the first one's run

    async def ask() -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        response = await http.post("/v1/chat/completions", json=body)
        return response, time.perf_counter() - started

    async with serve() as http:
        answers = await asyncio.gather(ask(), ask())
        samples = await scrape(http)
    assert [r.headers["x-sstar-run-id"] for r, _ in answers].count(
        answers[0][0].headers["x-sstar-run-id"]
    ) == 2
    assert total(samples, "sstar_runs_total") == 1
    assert value(samples, "sstar_samples_total") == 2
    for response, elapsed_s in answers:
        overhead_ms = float(response.headers["x-sstar-overhead-ms"])
        assert 0 <= overhead_ms <= (elapsed_s - UPSTREAM_DELAY_S) * 1000


async def test_a_stream_carries_its_overhead_to_the_first_byte(serve, fake_upstream):
    fake_upstream.responder = sstar_upstream()
    async with serve(sstar_mode="off") as http:
        started = time.perf_counter()
        async with http.stream(
            "POST", "/v1/chat/completions", json={**chat("hello"), "stream": True}
        ) as response:
            headers_s = time.perf_counter() - started
            body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert body.endswith(b"data: [DONE]\n\n")
    overhead_ms = float(response.headers["x-sstar-overhead-ms"])
    assert 0 <= overhead_ms <= (headers_s - UPSTREAM_DELAY_S) * 1000


async def test_only_answers_through_the_upstream_carry_the_overhead(serve):
    async with serve(sstar_mode="off") as http:
        models = await http.get("/v1/models")
        health = await http.get("/health")
        trace = await http.get("/v1/sstar/runs/run_0123")
        samples = await scrape(http)
    assert models.status_code == health.status_code == 200
    assert float(models.headers["x-sstar-overhead-ms"]) >= 0
    # A trace's 404 must be the unknown id's to the byte: no timing in it (README "Security").
    assert trace.status_code == 404
    assert "x-sstar-overhead-ms" not in trace.headers
    assert "x-sstar-overhead-ms" not in health.headers
    # The metric still covers every route.
    assert value(samples, "sstar_proxy_overhead_seconds_count", route="/health", sstar="none") == 1
