"""Sampling: one n=N call or N calls, the greedy sample, shortfalls and failures (no sandbox)."""

from __future__ import annotations

import dataclasses

import pytest

from proxy.errors import UpstreamError, UpstreamRateLimitError
from proxy.scaling.sampling import Batch, sample_candidates
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
PROGRAM = "```python\nprint(1)\n```"


async def test_a_shortfall_in_successful_answers_is_made_up() -> None:
    upstream = ScriptedUpstream(lambda r: [PROGRAM, "no code, sorry"][: r.n], max_choices=1)
    ctx = run_context(upstream, TASK, ScalingParams(samples=3, seed=5, greedy_sample=False))
    candidates = await sample_candidates(ctx, Batch(ctx.params.samples))
    # the n=3 call gives 1 choice: the make-up round asks for the other 2, one call each
    assert [r.n for r in upstream.requests] == [3, 1, 1]
    assert [r.seed for r in upstream.requests] == [5, 8, 9]
    assert len(candidates) == 3
    assert candidates[0].best.program == "print(1)"
    assert any("upstream returned 1 of 3 samples; asked again" in d for d in ctx.budget.degraded)


async def test_a_failed_call_is_retried_but_never_made_up() -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.n > 1:
            raise UpstreamError("flaky")
        return [PROGRAM]

    upstream = ScriptedUpstream(script)
    ctx = dataclasses.replace(
        run_context(upstream, TASK, ScalingParams(samples=3, seed=5)),
        retry=RetryPolicy(retries=2, backoff_s=0),
    )
    candidates = await sample_candidates(ctx, Batch(ctx.params.samples))
    # the greedy call answers; the n=2 call fails three times (1 + retries), then nothing more
    assert sorted(r.n for r in upstream.requests) == [1, 2, 2, 2]
    assert len(candidates) == 1
    assert ctx.budget.breaker.open
    assert any("sampling: a call failed (UpstreamError: flaky)" in d for d in ctx.budget.degraded)
    assert any("sampled 1 of 3" in d for d in ctx.budget.degraded)
    assert isinstance(ctx.budget.upstream_errors["sample"], UpstreamError)


async def test_a_rate_limit_stops_the_calls_at_once() -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.seed == 1:
            raise UpstreamRateLimitError("slow down", retry_after_s=0)
        return [PROGRAM]

    # the 429 comes back first; the other calls are in flight and finish, none is retried
    upstream = ScriptedUpstream(script, delay_by=lambda r: 0.05 if r.seed == 1 else 0.3)
    params = ScalingParams(samples=4, seed=0, one_sample_per_call=True, greedy_sample=False)
    ctx = dataclasses.replace(
        run_context(upstream, TASK, params), retry=RetryPolicy(retries=3, backoff_s=0)
    )
    candidates = await sample_candidates(ctx, Batch(ctx.params.samples))
    assert sorted(r.seed or 0 for r in upstream.requests) == [0, 1, 2, 3]  # one attempt each
    assert len(candidates) == 3
    assert isinstance(ctx.budget.breaker.cause, UpstreamRateLimitError)
    # after the breaker opened, a new call is not even made
    assert await ctx.call(upstream.requests[0]) is None
    assert len(upstream.requests) == 4
    assert any("sampling skipped: the upstream failed earlier" in d for d in ctx.budget.degraded)


async def test_every_call_failing_keeps_the_error_for_the_engine() -> None:
    def script(request: UpstreamRequest) -> list[str]:
        raise UpstreamError("down")

    ctx = run_context(ScriptedUpstream(script), TASK, ScalingParams(samples=2))
    assert await sample_candidates(ctx, Batch(ctx.params.samples)) == ()
    assert ctx.budget.upstream_errors["sample"].message == "down"
    assert any("sampled 0 of 2" in d for d in ctx.budget.degraded)


async def test_answers_without_code_are_kept_as_dropped_candidates() -> None:
    upstream = ScriptedUpstream(lambda r: ["no code, sorry"] * r.n)
    ctx = run_context(upstream, TASK, ScalingParams(samples=2, greedy_sample=False))
    candidates = await sample_candidates(ctx, Batch(ctx.params.samples))
    assert [c.dropped_reason for c in candidates] == ["no code in the answer"] * 2
    assert candidates[0].revisions[0].message == "no code, sorry"


async def test_separate_calls_stop_at_the_planned_time_with_the_finished_samples() -> None:
    slow_seed = 3
    upstream = ScriptedUpstream(
        lambda request: [PROGRAM], delay_by=lambda r: 30.0 if r.seed == slow_seed else 0.01
    )
    params = ScalingParams(
        samples=4, seed=0, one_sample_per_call=True, greedy_sample=False, deadline_s=1.0
    )
    ctx = run_context(upstream, TASK, params)
    candidates = await sample_candidates(ctx, Batch(4, wait_until=ctx.budget.now() + 0.5))
    assert [r.n for r in upstream.requests] == [1, 1, 1, 1]  # no make-up for the stopped call
    assert [r.seed for r in upstream.requests] == [0, 1, 2, 3]
    assert len(candidates) == 3
    assert upstream.in_flight == 0  # the slow call was cancelled, not left running
    degraded = ctx.budget.degraded
    assert any("stopped at its planned time with 3 of 4" in d for d in degraded)
    assert ctx.budget.remaining_s() > 0.3  # it stopped at the planned time, not at the deadline


async def test_separate_calls_wait_on_when_no_sample_is_in_at_the_planned_time() -> None:
    upstream = ScriptedUpstream(lambda request: [PROGRAM], delay_s=0.3)
    params = ScalingParams(samples=3, one_sample_per_call=True, deadline_s=5.0)
    ctx = run_context(upstream, TASK, params)
    batch = Batch(3, wait_until=ctx.budget.now() + 0.05)
    assert len(await sample_candidates(ctx, batch)) == 3
    assert ctx.budget.degraded == ()


async def test_one_call_asks_for_every_sample_unless_told_otherwise() -> None:
    upstream = ScriptedUpstream(lambda request: [PROGRAM] * request.n)
    ctx = run_context(upstream, TASK, ScalingParams(samples=4, greedy_sample=False))
    assert len(await sample_candidates(ctx, Batch(ctx.params.samples))) == 4
    assert [r.n for r in upstream.requests] == [4]


def _by_temperature(request: UpstreamRequest) -> list[str]:
    """Greedy calls answer ``print(0)``; sampled ones ``print(1)``, one per choice asked."""
    shown = 0 if request.temperature == 0 else 1
    return [f"```python\nprint({shown})\n```"] * request.n


@pytest.mark.parametrize("separate", [False, True])
async def test_the_greedy_sample_is_the_first_candidate(separate: bool) -> None:
    upstream = ScriptedUpstream(_by_temperature)
    params = ScalingParams(samples=4, greedy_sample=True, one_sample_per_call=separate)
    candidates = await sample_candidates(run_context(upstream, TASK, params), Batch(params.samples))
    programs = [c.best.program.strip() for c in candidates]
    assert programs == ["print(0)", "print(1)", "print(1)", "print(1)"]
    asked = sorted((r.temperature, r.n) for r in upstream.requests)
    assert asked == ([(0.0, 1)] + [(0.7, 1)] * 3 if separate else [(0.0, 1), (0.7, 3)])


@pytest.mark.parametrize("separate", [False, True])
async def test_one_greedy_sample_is_one_temperature_zero_call(separate: bool) -> None:
    upstream = ScriptedUpstream(_by_temperature)
    params = ScalingParams(samples=1, greedy_sample=True, one_sample_per_call=separate)
    candidates = await sample_candidates(run_context(upstream, TASK, params), Batch(params.samples))
    assert [c.best.program.strip() for c in candidates] == ["print(0)"]
    assert [(r.temperature, r.n) for r in upstream.requests] == [(0.0, 1)]


async def test_a_later_batch_continues_the_indices_with_new_seeds_and_no_greedy_call() -> None:
    upstream = ScriptedUpstream(_by_temperature)
    params = ScalingParams(samples=2, seed=10, greedy_sample=True, one_sample_per_call=True)
    ctx = run_context(upstream, TASK, params)
    first = await sample_candidates(ctx, Batch(2))
    later = await sample_candidates(ctx, Batch(2, first_index=2))
    assert [c.index for c in (*first, *later)] == [0, 1, 2, 3]
    assert [c.best.program.strip() for c in later] == ["print(1)", "print(1)"]
    seeds = [r.seed for r in upstream.requests]
    assert len(set(seeds[1:])) == len(seeds) - 1  # the sampled calls never repeat a seed
