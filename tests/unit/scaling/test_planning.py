"""Planning: the widest complete run that fits the time left, and why."""

from __future__ import annotations

import pytest

from proxy.scaling.planning import options, plan_run, reserve_s
from proxy.scaling.speed import Speed
from proxy.scaling.types import CodeTask, ScalingParams
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
    assert (plan.samples, plan.rounds, plan.tournament) == (8, 1, False)
    assert plan.reason.startswith("instead of N=8 R=2 tournament: ")
    roomier = plan_run(TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=600)
    assert (roomier.samples, roomier.rounds, roomier.tournament) == (8, 2, True)


def test_more_time_never_plans_less() -> None:
    order = options(PARAMS)
    chosen = [
        order.index((p.samples, p.rounds, p.tournament))
        for p in (
            plan_run(TASK, PARAMS, CPU, debug_concurrency=2, time_left_s=t)
            for t in range(1, 400, 7)
        )
    ]
    assert chosen == sorted(chosen, reverse=True)
    assert (chosen[0], chosen[-1]) == (len(order) - 1, 0)


def test_the_order_of_sacrifice() -> None:
    order = options(ScalingParams(samples=4, rounds=1, selection="adaptive"))
    assert order == [
        (4, 1, True), (3, 1, True), (4, 1, False), (3, 1, False),
        (4, 0, True), (3, 0, True), (4, 0, False), (3, 0, False),
        (2, 0, False), (1, 0, False),
    ]  # fmt: skip


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
