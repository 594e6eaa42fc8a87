"""Sampling messages, the format instruction and shortfall handling (no sandbox involved)."""

from __future__ import annotations

import pytest

from proxy.errors import UpstreamError
from proxy.scaling.budget import RunBudget
from proxy.scaling.sampling import (
    format_instruction,
    render_signature,
    sample_candidates,
    sampling_messages,
)
from proxy.scaling.types import CodeTask, ScalingParams, Signature
from proxy.upstream.base import Message, UpstreamRequest
from tests.fakes import ScriptedUpstream


def task(**changes) -> CodeTask:
    fields = {
        "problem": "Add two numbers.",
        "conversation": (Message("system", "s"), Message("user", "Add two numbers.")),
        "kind": "stdin",
        "model": "m",
    }
    fields.update(changes)
    return CodeTask(**fields)  # type: ignore[arg-type]


def test_instruction_is_appended_to_the_last_user_turn() -> None:
    messages = sampling_messages(task())
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[-1].content.startswith("Add two numbers.\n\nWrite a complete Python 3 program")


def test_instruction_after_a_non_user_turn_and_without_conversation() -> None:
    prefilled = task(conversation=(Message("user", "q"), Message("assistant", "a")))
    assert sampling_messages(prefilled)[-1].role == "user"
    assert sampling_messages(task(conversation=()))[0].content.startswith("Add two numbers.")


def test_function_instruction_names_the_signature_and_starter() -> None:
    sig = Signature("twoSum", ("nums", "target"), "Solution", "class Solution:\n    def twoSum")
    text = format_instruction(task(kind="function", signature=sig))
    assert "`Solution.twoSum(self, nums, target)`" in text
    assert "class Solution:\n    def twoSum" in text
    assert render_signature(Signature("f", ("a",))) == "f(a)"


async def test_shortfall_and_failures_and_no_code() -> None:
    calls = 0

    def script(request: UpstreamRequest) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise UpstreamError("flaky")
        return ["```python\nprint(1)\n```", "no code, sorry"][: request.n]

    upstream = ScriptedUpstream(script, max_choices=1)
    params = ScalingParams(samples=3, seed=5)
    outcome = await sample_candidates(RunBudget(params), upstream, task=task(), params=params)
    # first call n=3 gives 1; the make-up round asks 2 (one fails); the next round asks 1 more
    assert [r.n for r in upstream.requests] == [3, 1, 1, 1]
    assert [r.seed for r in upstream.requests] == [5, 8, 9, 11]
    assert len(outcome.candidates) == 3
    assert outcome.error is None
    assert outcome.candidates[0].best.program == "print(1)"


async def test_every_call_failing_reports_the_error() -> None:
    def script(request: UpstreamRequest) -> list[str]:
        raise UpstreamError("down")

    params = ScalingParams(samples=2)
    budget = RunBudget(params)
    outcome = await sample_candidates(budget, ScriptedUpstream(script), task=task(), params=params)
    assert outcome.candidates == ()
    assert isinstance(outcome.error, UpstreamError)
    assert any("sampled 0 of 2" in d for d in budget.degraded)


PROGRAM = "```python\nprint(1)\n```"


async def test_separate_calls_stop_at_the_sampling_deadline_with_the_finished_samples() -> None:
    slow_seed = 3
    upstream = ScriptedUpstream(
        lambda request: [PROGRAM], delay_by=lambda r: 30.0 if r.seed == slow_seed else 0.01
    )
    params = ScalingParams(samples=4, seed=0, one_sample_per_call=True)
    budget = RunBudget(params)
    outcome = await sample_candidates(
        budget, upstream, task=task(), params=params, deadline=budget.now() + 0.5
    )
    assert [r.n for r in upstream.requests] == [1, 1, 1, 1]  # no make-up for the stopped call
    assert [r.seed for r in upstream.requests] == [0, 1, 2, 3]
    assert len(outcome.candidates) == 3
    assert upstream.in_flight == 0  # the slow call was cancelled, not left running
    assert any("stopped at its share of the deadline with 3 of 4" in d for d in budget.degraded)
    assert budget.remaining_s() > params.deadline_s - 10  # it did not wait for the slow call


async def test_separate_calls_wait_on_when_no_sample_is_in_at_the_sampling_deadline() -> None:
    upstream = ScriptedUpstream(lambda request: [PROGRAM], delay_s=0.3)
    params = ScalingParams(samples=3, one_sample_per_call=True)
    budget = RunBudget(params)
    outcome = await sample_candidates(
        budget, upstream, task=task(), params=params, deadline=budget.now() + 0.01
    )
    assert len(outcome.candidates) == 3
    assert budget.degraded == ()


async def test_one_call_asks_for_every_sample_unless_told_otherwise() -> None:
    upstream = ScriptedUpstream(lambda request: [PROGRAM] * request.n)
    params = ScalingParams(samples=4)
    budget = RunBudget(params)
    outcome = await sample_candidates(
        budget, upstream, task=task(), params=params, deadline=budget.now()
    )
    assert [r.n for r in upstream.requests] == [4]
    assert len(outcome.candidates) == 4


def _by_temperature(request: UpstreamRequest) -> list[str]:
    """Greedy calls answer ``print(0)``; sampled ones ``print(1)``, one per choice asked."""
    shown = 0 if request.temperature == 0 else 1
    return [f"```python\nprint({shown})\n```"] * request.n


@pytest.mark.parametrize("separate", [False, True])
async def test_the_greedy_sample_is_the_first_candidate(separate: bool) -> None:
    upstream = ScriptedUpstream(_by_temperature)
    params = ScalingParams(samples=4, greedy_sample=True, one_sample_per_call=separate)
    outcome = await sample_candidates(RunBudget(params), upstream, task=task(), params=params)
    programs = [c.best.program.strip() for c in outcome.candidates]
    assert programs == ["print(0)", "print(1)", "print(1)", "print(1)"]
    asked = sorted((r.temperature, r.n) for r in upstream.requests)
    assert asked == ([(0.0, 1)] + [(0.7, 1)] * 3 if separate else [(0.0, 1), (0.7, 3)])


@pytest.mark.parametrize("separate", [False, True])
async def test_one_greedy_sample_is_one_temperature_zero_call(separate: bool) -> None:
    upstream = ScriptedUpstream(_by_temperature)
    params = ScalingParams(samples=1, greedy_sample=True, one_sample_per_call=separate)
    outcome = await sample_candidates(RunBudget(params), upstream, task=task(), params=params)
    assert [c.best.program.strip() for c in outcome.candidates] == ["print(0)"]
    assert [(r.temperature, r.n) for r in upstream.requests] == [(0.0, 1)]
