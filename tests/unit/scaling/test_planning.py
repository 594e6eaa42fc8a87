"""Planning: the widest complete run that fits the time left, and why."""

from __future__ import annotations

from dataclasses import replace

import pytest

from proxy.scaling.planning import (
    plan_run,
    prompt_tokens,
    reserve_s,
    sampling_s,
    starter_tokens,
    tiers,
)
from proxy.scaling.speed import Speed
from proxy.scaling.types import CodeTask, ScalingParams, Signature
from proxy.upstream.base import Message

TASK = CodeTask(
    problem="p" * 700, conversation=(Message("user", "p" * 700),), kind="stdin", model="m"
)
PARAMS = ScalingParams(samples=8, rounds=2, selection="adaptive", judge="scored")
CPU = Speed(decode_tps=25.0, prefill_ratio=6.0, concurrency_gain=0.62, sample_tokens=250)
FAST = Speed(decode_tps=5000.0, prefill_ratio=50.0, concurrency_gain=1.0, sample_tokens=250)


def test_a_fast_upstream_gets_the_plan_asked_for() -> None:
    plan = plan_run(TASK, PARAMS, FAST, debug_concurrency=16, time_left_s=120)
    assert (plan.samples, plan.rounds, plan.tournament) == (8, 2, True)
    assert plan.reason.startswith("as asked: ")


def test_a_slow_upstream_gets_a_smaller_plan_that_fits() -> None:
    plan = plan_run(TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=60)
    assert plan.total_s <= 60 - reserve_s(60)
    assert (plan.rounds, plan.tournament) == (1, False)
    assert 3 <= plan.samples <= 8
    assert plan.reason.startswith("instead of N=8 R=2 tournament: ")
    roomier = plan_run(TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=600)
    assert (roomier.samples, roomier.rounds, roomier.tournament) == (8, 2, True)


def test_more_time_never_plans_less() -> None:
    def rank(plan) -> tuple[int, int, int]:
        tier = tiers(PARAMS).index((min(1, plan.rounds), plan.tournament))
        return (-tier, plan.samples, plan.rounds)

    plans = [
        plan_run(TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=t) for t in range(1, 400, 7)
    ]
    ranks = [rank(p) for p in plans]
    assert ranks == sorted(ranks)
    assert (plans[0].samples, plans[-1].samples) == (1, 8)


def test_samples_shrink_before_debugging_is_given_up() -> None:
    plans = [
        plan_run(TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=t) for t in range(30, 200, 5)
    ]
    for plan in plans:
        if plan.rounds == 0 and plan.samples > 1:
            # no debug round at all: not even 3 samples with one round would have fitted
            assert plan.samples >= 3
            smaller = plan_run(
                TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=plan.total_s * 1.2
            )
            assert smaller.rounds <= 1
    with_a_round = [p for p in plans if p.rounds >= 1]
    assert with_a_round
    assert min(p.samples for p in with_a_round) >= 3


def test_the_tiers_in_order() -> None:
    assert tiers(ScalingParams(rounds=2, selection="adaptive")) == [
        (1, True), (1, False), (0, True), (0, False),
    ]  # fmt: skip
    assert tiers(ScalingParams(rounds=0, selection="majority")) == [(0, False)]


def test_with_no_time_at_all_one_sample_is_answered() -> None:
    plan = plan_run(TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=1)
    assert (plan.samples, plan.rounds, plan.tournament) == (1, 0, False)


@pytest.mark.parametrize("selection", ["majority", "public", "first"])
def test_only_adaptive_plans_a_tournament(selection: str) -> None:
    params = ScalingParams(samples=4, rounds=1, selection=selection)  # type: ignore[arg-type]
    assert plan_run(TASK, params, FAST, debug_concurrency=4, time_left_s=60).tournament is False


def test_reserve_is_a_safety_margin_and_at_most_two_seconds_to_answer() -> None:
    assert reserve_s(100) == pytest.approx(15 + 2)
    assert reserve_s(5) == pytest.approx(0.75 + 0.5)


def test_a_long_starter_code_makes_longer_samples() -> None:
    stub = "def f(x):\n    '''" + "d" * 690 + "'''\n"
    with_stub = replace(TASK, kind="function", signature=Signature("f", ("x",), starter_code=stub))
    assert starter_tokens(with_stub) == pytest.approx(len(stub) / 3.5)
    assert starter_tokens(TASK) == 0
    assert sampling_s(with_stub, PARAMS, CPU, 8) > sampling_s(TASK, PARAMS, CPU, 8) * 1.5


def test_a_batch_of_samples_waits_for_its_longest() -> None:
    even = replace(CPU, sample_lengths=(250.0,) * 16)
    spread = replace(CPU, sample_lengths=tuple(float(n) for n in range(100, 401, 20)))
    assert even.sample_tokens == spread.sample_tokens == 250
    # equal lengths: one call's time at full concurrency, as before lengths were kept
    assert sampling_s(TASK, PARAMS, even, 8) == pytest.approx(
        CPU.call_s(prompt_tokens(TASK), 250, concurrency=9)
    )
    assert sampling_s(TASK, PARAMS, spread, 8) > sampling_s(TASK, PARAMS, even, 8)
    # a batching server: the longest sample alone sets the time
    gpu = replace(spread, concurrency_gain=1.0)
    longest = spread.sample_quantiles(8)[-1]
    assert sampling_s(TASK, PARAMS, gpu, 8) == pytest.approx(
        gpu.call_s(prompt_tokens(TASK), longest)
    )
