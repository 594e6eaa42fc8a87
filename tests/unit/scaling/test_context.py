"""RunContext.call: the one sub-call helper retries, degrades, and obeys the run's breaker."""

from __future__ import annotations

import dataclasses
import time

from proxy.errors import UpstreamError, UpstreamRateLimitError, UpstreamStatusError
from proxy.scaling.types import CodeTask, ScalingParams
from proxy.upstream.base import Message, UpstreamRequest
from proxy.upstream.retry import RetryPolicy
from tests.fakes import ScriptedUpstream, run_context

TASK = CodeTask(
    problem="Add two numbers.",
    conversation=(Message("user", "Add two numbers."),),
    kind="stdin",
    model="m",
)
REQUEST = UpstreamRequest(model="m", messages=(Message("user", "hi"),), purpose="synthesis")


def _failing(*errors: Exception):
    queue = list(errors)

    def script(request: UpstreamRequest) -> list[str]:
        if queue:
            raise queue.pop(0)
        return ["ok"]

    return script


def _context(upstream: ScriptedUpstream, *, retries: int = 2, **params: object):
    ctx = run_context(upstream, TASK, ScalingParams(**params))  # type: ignore[arg-type]
    return dataclasses.replace(ctx, retry=RetryPolicy(retries=retries, backoff_s=0))


async def test_a_passing_fault_is_retried_and_every_attempt_counted():
    upstream = ScriptedUpstream(_failing(UpstreamStatusError("busy", status_code=503)))
    ctx = _context(upstream)
    response = await ctx.call(REQUEST)
    assert response is not None
    assert response.choices[0].text == "ok"
    assert ctx.budget.calls == 2
    assert not ctx.budget.breaker.open
    assert ctx.budget.degraded == ()


async def test_without_a_policy_a_call_is_made_once():
    upstream = ScriptedUpstream(_failing(UpstreamError("down")))
    ctx = run_context(upstream, TASK)
    assert await ctx.call(REQUEST) is None
    assert len(upstream.requests) == 1


async def test_a_call_failing_after_its_retries_opens_the_breaker():
    upstream = ScriptedUpstream(_failing(*(UpstreamError("down") for _ in range(5))))
    ctx = _context(upstream)
    assert await ctx.call(REQUEST) is None
    assert len(upstream.requests) == 3  # 1 + retries
    assert ctx.budget.upstream_errors["synthesis"].should_retry is False
    assert await ctx.call(REQUEST) is None  # no new call once the breaker is open
    assert len(upstream.requests) == 3
    assert ctx.budget.degraded == (
        "input synthesis: a call failed (UpstreamError: down)",
        "input synthesis skipped: the upstream failed earlier in the run (UpstreamError: down)",
    )


async def test_a_rate_limit_is_not_retried_in_a_run():
    upstream = ScriptedUpstream(_failing(UpstreamRateLimitError("slow", retry_after_s=0)))
    ctx = _context(upstream)
    assert await ctx.call(REQUEST) is None
    assert len(upstream.requests) == 1
    error = ctx.budget.breaker.cause
    assert isinstance(error, UpstreamRateLimitError)
    assert (error.should_retry, error.retry_after_s) == (True, 0)


async def test_waits_end_by_the_run_deadline():
    upstream = ScriptedUpstream(_failing(UpstreamStatusError("busy", status_code=503)))
    ctx = _context(upstream, deadline_s=0.5)
    ctx = dataclasses.replace(ctx, retry=RetryPolicy(retries=2, backoff_s=5, max_wait_s=5))
    started = time.monotonic()
    assert await ctx.call(REQUEST) is None
    assert time.monotonic() - started < 0.5  # it did not sleep 5 s for a retry it cannot make
    assert len(upstream.requests) == 1
