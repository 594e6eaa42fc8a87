"""S* stage 2: iterative debugging against the public tests, with real execution feedback.

Inputs: sampled candidates, the task's public tests, ``ScalingParams.rounds`` (R) and a stage
deadline. Outputs: the candidates with every revision and its test outcomes, and ``best_round``
pointing at the revision that passed most public tests (a later one wins ties), not the last one.

Each failing candidate gets the conversation so far (reasoning stripped) plus feedback listing
every public test with its input, expected output and the real actual output or error (clipped),
for up to R rounds; candidates are debugged concurrently. Without public tests there is nothing
to debug against and the stage is skipped. A cap or an upstream failure ends a candidate's
debugging early; whatever revisions exist are kept.
"""

from __future__ import annotations

import asyncio
import dataclasses

from proxy.errors import UpstreamError
from proxy.scaling.budget import BudgetExhaustedError, RunBudget
from proxy.scaling.code import extract_program, strip_reasoning
from proxy.scaling.execution import Executor
from proxy.scaling.prompts import DEBUG_FEEDBACK, DEBUG_TEST, clip
from proxy.scaling.sampling import sampling_messages
from proxy.scaling.types import Candidate, CodeTask, Revision, ScalingParams, TestOutcome
from proxy.upstream.base import Message, Upstream, UpstreamRequest

_FIELD_CLIP = 600


def feedback_message(tests: tuple[TestOutcome, ...]) -> str:
    """The feedback turn: every public test, its expected and its real actual output."""
    items = [
        DEBUG_TEST.format(
            number=number,
            verdict="passed" if test.passed else f"FAILED ({test.status})",
            input=clip(test.input, _FIELD_CLIP),
            expected=clip(test.expected if test.expected is not None else "(runs cleanly)", 300),
            actual=clip(test.actual, _FIELD_CLIP),
        )
        for number, test in enumerate(tests, start=1)
    ]
    failed = sum(not t.passed for t in tests)
    return DEBUG_FEEDBACK.format(failed=failed, total=len(tests), tests="\n\n".join(items))


def best_round(revisions: tuple[Revision, ...]) -> int:
    """The revision passing most public tests; a later one wins ties."""
    return max(range(len(revisions)), key=lambda i: (revisions[i].passed, i))


async def debug_candidates(
    budget: RunBudget,
    upstream: Upstream,
    *,
    executor: Executor,
    task: CodeTask,
    params: ScalingParams,
    candidates: tuple[Candidate, ...],
    deadline: float,
) -> tuple[Candidate, ...]:
    """Test every live candidate and debug the failing ones, concurrently."""
    if not task.public_tests:
        return candidates
    histories = {c.index: list(c.revisions) for c in candidates}
    live = [c for c in candidates if c.dropped_reason is None]
    try:
        async with asyncio.timeout_at(deadline), asyncio.TaskGroup() as group:
            for candidate in live:
                group.create_task(
                    _debug_one(
                        budget,
                        upstream,
                        executor=executor,
                        task=task,
                        params=params,
                        history=histories[candidate.index],
                        index=candidate.index,
                    )
                )
    except TimeoutError:
        budget.degrade("debugging cut short by its share of the deadline")
    return tuple(_finish(c, tuple(histories[c.index])) for c in candidates)


def _finish(candidate: Candidate, revisions: tuple[Revision, ...]) -> Candidate:
    if candidate.dropped_reason is not None:
        return candidate
    return dataclasses.replace(candidate, revisions=revisions, best_round=best_round(revisions))


async def _debug_one(
    budget: RunBudget,
    upstream: Upstream,
    *,
    executor: Executor,
    task: CodeTask,
    params: ScalingParams,
    history: list[Revision],
    index: int,
) -> None:
    """Debug one candidate; a cap ends it quietly (the revisions so far are kept)."""
    try:
        await _debug_rounds(
            budget,
            upstream,
            executor=executor,
            task=task,
            params=params,
            history=history,
            index=index,
        )
    except BudgetExhaustedError as exc:
        budget.degrade(f"debugging stopped: {exc.reason}")


async def _debug_rounds(
    budget: RunBudget,
    upstream: Upstream,
    *,
    executor: Executor,
    task: CodeTask,
    params: ScalingParams,
    history: list[Revision],
    index: int,
) -> None:
    """Debug one candidate, appending each revision to ``history`` as soon as it is tested."""
    first = history[0]
    history[0] = dataclasses.replace(
        first, tests=await executor.run_tests(first.program, task.public_tests)
    )
    messages = [*sampling_messages(task), Message("assistant", strip_reasoning(first.message))]
    entry_point = task.signature.entry_point if task.signature is not None else None
    for round_ in range(1, params.rounds + 1):
        last = history[-1]
        if all(t.passed for t in last.tests):
            return
        messages.append(Message("user", feedback_message(last.tests)))
        request = UpstreamRequest(
            model=task.model,
            messages=tuple(messages),
            temperature=params.temperature,
            max_tokens=params.max_tokens_per_call,
            seed=None if params.seed is None else params.seed + 1000 * round_ + index,
            extra=params.sampling_extra,
            purpose="debug",
        )
        try:
            response = await budget.complete(upstream, request)
        except UpstreamError as exc:
            budget.degrade(f"a debug call failed: {type(exc).__name__}: {exc.message[:200]}")
            return
        text = response.choices[0].text if response.choices else ""
        found = extract_program(text, entry_point=entry_point)
        if found is None:
            # NOTE: a reply without code ends this candidate's debugging; the best so far stays.
            return
        tests = await executor.run_tests(found.program, task.public_tests)
        history.append(Revision(round_, found.program, text, tests))
        messages.append(Message("assistant", strip_reasoning(text)))
