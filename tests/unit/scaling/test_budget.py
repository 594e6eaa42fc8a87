"""The run budget: token cap, deadline, usage and call counting."""

from __future__ import annotations

import asyncio

import pytest

from proxy.errors import BudgetExhaustedError
from proxy.scaling.budget import RunBudget
from proxy.scaling.types import ScalingParams
from proxy.upstream.base import Message, UpstreamRequest, Usage
from tests.fakes import ScriptedUpstream

REQUEST = UpstreamRequest(model="m", messages=(Message("user", "x" * 40),), max_tokens=100)


async def test_usage_is_summed_and_tokens_cap_further_calls() -> None:
    upstream = ScriptedUpstream(lambda r: ["y" * 80])
    budget = RunBudget(ScalingParams(max_total_tokens=40))
    await budget.complete(upstream, REQUEST)
    assert budget.usage == Usage(10, 20)
    assert upstream.requests[0].max_tokens == 40  # shrunk to what is left
    assert budget.exhausted() is None
    await budget.complete(upstream, REQUEST)
    assert budget.exhausted() == "token budget spent"
    with pytest.raises(BudgetExhaustedError, match="token budget"):
        await budget.complete(upstream, REQUEST)
    assert budget.calls == 2


async def test_deadline_interrupts_a_slow_call() -> None:
    upstream = ScriptedUpstream(lambda r: ["late"], delay_s=5.0)
    budget = RunBudget(ScalingParams(deadline_s=0.1))
    with pytest.raises(BudgetExhaustedError, match="deadline"):
        await budget.complete(upstream, REQUEST)
    assert upstream.requests[0].timeout_s is not None
    assert upstream.requests[0].timeout_s <= 0.1
    await asyncio.sleep(0.01)
    assert budget.remaining_s() == 0.0
    assert budget.exhausted() == "deadline reached"


async def test_degradation_notes_are_unique_and_ordered() -> None:
    budget = RunBudget(ScalingParams())
    budget.degrade("a")
    budget.degrade("b")
    budget.degrade("a")
    assert budget.degraded == ("a", "b")
    assert budget.stage_deadline(0.5) < budget.deadline
