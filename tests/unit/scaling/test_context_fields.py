"""Which of the client's sampling fields each kind of S* sub-call carries (``RunContext.ask``).

Samples and debug turns carry them all (``sampling.py``, ``debugging.py``); input synthesis and
distinguishing inputs too; the judge only ``user``; a call to another (auxiliary) model no
``logit_bias`` (token ids of the request's model).
"""

from __future__ import annotations

import pytest

from proxy.scaling.types import CodeTask, ScalingParams
from proxy.upstream.base import Message, Purpose
from tests.fakes import ScriptedUpstream, run_context

TASK = CodeTask(
    problem="Add two numbers.",
    conversation=(Message("user", "Add two numbers."),),
    kind="stdin",
    model="m",
)
FIELDS: dict[str, object] = {
    "user": "u-1",
    "top_p": 0.9,
    "top_k": 20,
    "frequency_penalty": 0.3,
    "presence_penalty": 0.2,
    "logit_bias": {"7": 3},
}


async def _asked(purpose: Purpose, *, aux_model: str | None = None) -> dict[str, object]:
    upstream = ScriptedUpstream(lambda request: ["ok"])
    params = ScalingParams(sampling_extra=FIELDS, aux_model=aux_model)
    await run_context(upstream, TASK, params).ask("prompt", purpose=purpose)
    [request] = upstream.requests
    return dict(request.extra)


@pytest.mark.parametrize("purpose", ["synthesis", "distinguish"])
async def test_input_calls_carry_every_field(purpose: Purpose) -> None:
    assert await _asked(purpose) == FIELDS


@pytest.mark.parametrize("aux_model", [None, "other"])
async def test_the_judge_carries_only_user(aux_model: str | None) -> None:
    assert await _asked("judge", aux_model=aux_model) == {"user": "u-1"}


async def test_another_model_gets_no_token_ids() -> None:
    extra = await _asked("synthesis", aux_model="other")
    assert extra == {k: v for k, v in FIELDS.items() if k != "logit_bias"}
    assert await _asked("synthesis", aux_model="m") == FIELDS  # the request's own model
