"""S* stage 2: iterative debugging against the public tests, with real execution feedback.

Inputs: sampled candidates, the task's public tests, ``params.rounds`` (R) and the debugging
share of the deadline. Outputs: the candidates with every revision and its test outcomes, and
``best_round`` pointing at the revision that passed most public tests (a later one wins ties),
not the last one.

Each failing candidate gets the conversation so far (reasoning stripped) plus feedback listing
every public test with its input, expected output and the real actual output or error (clipped),
for up to R rounds; candidates are debugged concurrently. Without public tests there is nothing
to debug against and the stage is skipped. A cap or an upstream failure ends a candidate's
debugging early; whatever revisions exist are kept.
"""

from __future__ import annotations

import asyncio
import dataclasses

from proxy.errors import BudgetExhaustedError
from proxy.scaling.budget import DEBUG_SHARE
from proxy.scaling.context import RunContext, reply_text
from proxy.scaling.programs import extract_program, strip_reasoning
from proxy.scaling.prompts.debugging import feedback_message
from proxy.scaling.prompts.sampling import sampling_messages
from proxy.scaling.types import Candidate, Revision
from proxy.upstream.base import Message, UpstreamRequest

ROUND_SEED_STRIDE = 1000
"""Seed offset per debug round (plus the candidate's index), so that every revision differs."""


def best_round(revisions: tuple[Revision, ...]) -> int:
    """The revision passing most public tests; a later one wins ties."""
    return max(range(len(revisions)), key=lambda i: (revisions[i].passed, i))


async def debug_candidates(
    ctx: RunContext, candidates: tuple[Candidate, ...]
) -> tuple[Candidate, ...]:
    """Test every live candidate and debug the failing ones, concurrently."""
    if not ctx.task.public_tests:
        return candidates
    histories = {c.index: list(c.revisions) for c in candidates}
    live = [c for c in candidates if c.dropped_reason is None]
    try:
        async with (
            asyncio.timeout_at(ctx.budget.stage_deadline(DEBUG_SHARE)),
            asyncio.TaskGroup() as group,
        ):
            for candidate in live:
                group.create_task(_debug_one(ctx, histories[candidate.index], candidate.index))
    except TimeoutError:
        ctx.budget.degrade("debugging cut short by its share of the deadline")
    return tuple(_finish(c, tuple(histories[c.index])) for c in candidates)


def _finish(candidate: Candidate, revisions: tuple[Revision, ...]) -> Candidate:
    if candidate.dropped_reason is not None:
        return candidate
    return dataclasses.replace(candidate, revisions=revisions, best_round=best_round(revisions))


async def _debug_one(ctx: RunContext, history: list[Revision], index: int) -> None:
    """Debug one candidate; a cap ends it quietly (the revisions so far are kept)."""
    try:
        await _debug_rounds(ctx, history, index)
    except BudgetExhaustedError as exc:
        ctx.budget.degrade(f"debugging stopped: {exc.reason}")


async def _debug_rounds(ctx: RunContext, history: list[Revision], index: int) -> None:
    """Debug one candidate, appending each revision to ``history`` as soon as it is tested."""
    tests = ctx.task.public_tests
    first = history[0]
    history[0] = dataclasses.replace(
        first, tests=await ctx.executor.run_tests(first.program, tests)
    )
    messages = [*sampling_messages(ctx.task), Message("assistant", strip_reasoning(first.message))]
    for round_ in range(1, ctx.params.rounds + 1):
        last = history[-1]
        if all(t.passed for t in last.tests):
            return
        messages.append(Message("user", feedback_message(last.tests)))
        response = await ctx.call(
            UpstreamRequest(
                model=ctx.task.model,
                messages=tuple(messages),
                temperature=ctx.params.temperature,
                max_tokens=ctx.params.max_tokens_per_call,
                seed=ctx.seed(ROUND_SEED_STRIDE * round_ + index),
                extra=ctx.params.sampling_extra,
                purpose="debug",
            )
        )
        text = reply_text(response)
        found = extract_program(text, entry_point=ctx.entry_point)
        if response is None or found is None:
            # NOTE: a failed call or a reply without code ends this candidate's debugging.
            return
        history.append(
            Revision(
                round_, found.program, text, await ctx.executor.run_tests(found.program, tests)
            )
        )
        messages.append(Message("assistant", strip_reasoning(text)))
