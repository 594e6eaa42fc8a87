"""S* stage 2: iterative debugging against the public tests, with real execution feedback.

Inputs: sampled candidates, the task's public tests and a :class:`DebugPlan` (rounds, how many
debug calls at once, the time by which every started call must end). Outputs: the candidates
with every revision and its test outcomes, and ``best_round`` pointing at the revision that
passed most public tests (a later one wins ties), not the last one.

:func:`test_candidates` runs every sample on the public tests first (round 0). Then only
*distinct* failing programs are debugged (identical samples share one debugging), most promising
first (most public tests passed, then most copies, then lowest index), with bounded concurrency
(on a two-core CPU server, concurrent long prompts all prefill at once and none decodes for tens
of seconds). Each turn shows the model its program and only the failing tests' feedback,
trimmed; a program's debugging stops as soon as a revision passes every public test. A round is
started only when the plan's estimate says it ends in time, so debugging finishes rather than
being cut; the programs the time does not reach (the least promising) stay as sampled, which
the report counts as breadth, not as a cut. A cap or an upstream failure ends a program's
debugging early and keeps what it has.
Without public tests there is nothing to debug against and the stage is skipped.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from dataclasses import dataclass

from proxy.errors import BudgetExhaustedError
from proxy.scaling.context import RunContext, reply_text
from proxy.scaling.programs import extract_program, fence, normalise_program
from proxy.scaling.prompts.debugging import feedback_message
from proxy.scaling.prompts.sampling import sampling_messages
from proxy.scaling.types import Candidate, Revision, TestOutcome
from proxy.upstream.base import Message, UpstreamRequest

ROUND_SEED_STRIDE = 1000
"""Seed offset per debug round (plus the candidate's index), so that every revision differs."""


@dataclass(frozen=True, slots=True)
class DebugPlan:
    """How debugging may spend its part of the run: ``rounds`` per program, ``concurrency``
    programs at once, a round started only if ``round_s`` more seconds end by ``deadline``
    (loop time)."""

    rounds: int
    concurrency: int
    deadline: float
    round_s: float

    def round_fits(self, now: float) -> bool:
        """Whether a round started at ``now`` ends by the deadline, by its estimate."""
        return now + self.round_s <= self.deadline


@dataclass(frozen=True, slots=True)
class DebugReport:
    """What debugging did: distinct failing ``programs``, how many of them it ``started`` (most
    promising first, as many as the plan's time reached), and whether every round it started
    ran (``completed``; else why not in ``stopped``). A program the time never reached is not
    a cut: the breadth is planned, the started work is what must finish."""

    programs: int
    started: int
    completed: bool
    stopped: str | None = None


def best_round(revisions: tuple[Revision, ...]) -> int:
    """The revision passing most public tests; a later one wins ties."""
    return max(range(len(revisions)), key=lambda i: (revisions[i].passed, i))


async def test_candidates(
    ctx: RunContext, candidates: tuple[Candidate, ...]
) -> tuple[Candidate, ...]:
    """Every live candidate's sample run on the public tests (its round 0)."""
    if not ctx.task.public_tests:
        return candidates
    live = [c for c in candidates if c.dropped_reason is None and not c.revisions[0].tests]
    async with asyncio.TaskGroup() as group:
        tested = {c.index: group.create_task(_tested(ctx, c.revisions[0].program)) for c in live}
    outcomes = {index: task.result() for index, task in tested.items()}
    return tuple(
        dataclasses.replace(
            c, revisions=(dataclasses.replace(c.revisions[0], tests=outcomes[c.index]),)
        )
        if outcomes.get(c.index)
        else c
        for c in candidates
    )


async def _tested(ctx: RunContext, program: str) -> tuple[TestOutcome, ...]:
    """The program's outcomes on the public tests; none when the run's budget ends first (the
    candidate stays untested: it passes nothing, and the trace says why)."""
    try:
        return await ctx.executor.run_tests(program, ctx.task.public_tests)
    except BudgetExhaustedError as exc:
        ctx.budget.degrade(f"public tests not run: {exc.reason}")
        return ()


def failing_groups(candidates: tuple[Candidate, ...]) -> list[list[Candidate]]:
    """Distinct programs that fail a public test, each with the candidates sharing it, most
    promising first."""
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.dropped_reason is None and not candidate.passes_public:
            groups[normalise_program(candidate.best.program)].append(candidate)
    return sorted(
        groups.values(), key=lambda g: (-g[0].best.passed, -len(g), min(c.index for c in g))
    )


async def debug_candidates(
    ctx: RunContext, candidates: tuple[Candidate, ...], plan: DebugPlan
) -> tuple[tuple[Candidate, ...], DebugReport]:
    """Debug the distinct failing programs by ``plan``; identical candidates share revisions."""
    groups = failing_groups(candidates) if ctx.task.public_tests and plan.rounds else []
    if not groups:
        return candidates, DebugReport(0, 0, completed=True)
    queue: asyncio.Queue[list[Candidate]] = asyncio.Queue()
    for group in groups:
        queue.put_nowait(group)
    histories = {group[0].index: list(group[0].revisions) for group in groups}
    skipped: list[str] = []
    started: list[int] = []
    workers = [
        _worker(ctx, queue, histories, plan, skipped, started)
        for _ in range(min(plan.concurrency, len(groups)))
    ]
    try:
        async with asyncio.timeout_at(plan.deadline), asyncio.TaskGroup() as group_tasks:
            for worker in workers:
                group_tasks.create_task(worker)
    except TimeoutError:
        skipped.append("debugging cut short by the plan's time")
    shared = {c.index: group[0].index for group in groups for c in group}
    debugged = tuple(
        # NOTE: a copy keeps its own sample (its message is its own), and shares the revisions.
        _finish(c, (c.revisions[0], *histories[shared[c.index]][1:])) if c.index in shared else c
        for c in candidates
    )
    if skipped:
        ctx.budget.degrade(skipped[0])
    return debugged, DebugReport(
        len(groups), len(started), completed=not skipped, stopped=next(iter(skipped), None)
    )


def _finish(candidate: Candidate, revisions: tuple[Revision, ...]) -> Candidate:
    return dataclasses.replace(candidate, revisions=revisions, best_round=best_round(revisions))


async def _worker(
    ctx: RunContext,
    queue: asyncio.Queue[list[Candidate]],
    histories: dict[int, list[Revision]],
    plan: DebugPlan,
    skipped: list[str],
    started: list[int],
) -> None:
    while not queue.empty():
        group = queue.get_nowait()
        leader = group[0].index
        if not plan.round_fits(ctx.budget.now()):
            continue  # not reached: its first round would not end in the plan's time
        started.append(leader)
        try:
            reason = await _debug_rounds(ctx, histories[leader], leader, plan)
        except BudgetExhaustedError as exc:
            reason = f"debugging stopped: {exc.reason}"
        if reason is not None:
            skipped.append(reason)


async def _debug_rounds(
    ctx: RunContext, history: list[Revision], index: int, plan: DebugPlan
) -> str | None:
    """Debug one program, appending each revision as soon as it is tested; returns why it
    stopped before its planned rounds (``None``: it ran them, or passed)."""
    tests = ctx.task.public_tests
    prefix = sampling_messages(ctx.task)
    for round_ in range(1, plan.rounds + 1):
        last = history[-1]
        if all(t.passed for t in last.tests):
            return None
        if not plan.round_fits(ctx.budget.now()):
            return f"debugging stopped before round {round_}: it would not end in the planned time"
        turns = _turns(history)
        request = UpstreamRequest(
            model=ctx.task.model,
            messages=(*prefix, *turns),
            temperature=ctx.params.temperature,
            max_tokens=ctx.params.max_tokens_per_call,
            seed=ctx.seed(ROUND_SEED_STRIDE * round_ + index),
            extra=ctx.params.sampling_extra,
            purpose="debug",
        )
        response = await ctx.call(request)
        text = reply_text(response)
        found = extract_program(text, entry_point=ctx.entry_point)
        if response is None or found is None:
            # NOTE: a failed call or a reply without code ends this program's debugging.
            return None if response is not None else "a debug call failed"
        outcomes = await ctx.executor.run_tests(found.program, tests)
        history.append(Revision(round_, found.program, text, outcomes))
    return None


def _turns(history: list[Revision]) -> list[Message]:
    """The debugging conversation after the client's: each version as its program alone, each
    followed by the feedback on the tests it failed."""
    turns: list[Message] = []
    for revision in history:
        turns.append(Message("assistant", fence(revision.program)))
        turns.append(Message("user", feedback_message(revision.tests)))
    return turns
