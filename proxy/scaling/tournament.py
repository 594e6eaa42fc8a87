"""S* stage 3: the pairwise tournament between behaviour clusters.

Inputs: one contender per cluster (its representative program and its runs on the initial
synthesized inputs), ``params.max_pairs`` and the tournament's share of the deadline. Outputs:
one ``Match`` per pair played. Pairs are scheduled largest clusters first and capped; they are
played concurrently.

Each game: ask the model for inputs that would distinguish *these two* programs (adaptive input
synthesis), execute both, and show the judge the problem, both programs, the inputs on which
their real outputs differ (adaptive ones first, then initial ones) and those actual outputs, never
predicted ones. The judge is asked twice with the programs' order swapped, and each answer is
read as the probability that the program shown first is correct:

``reasoned`` (``params.judge``): the judge works it out in text and ends with a letter, so each
order gives 1 or 0 and only a consistent pair of answers decides (as in the paper). ``scored``:
the judge answers with one letter and the upstream's ``top_logprobs`` give P(A) and P(B)
(balanced position calibration). A small model that always says "A" still says it *less* surely
when the worse program is shown first; averaging P(a correct) over both orders cancels the
position bias and keeps that signal. Without logprobs the letter itself counts as 1 or 0. The
prompts and the reading of the verdicts are in ``prompts/judging.py``.

The match goes to a program when its averaged probability is above 1/2 by ``DECISION_MARGIN``;
anything else (a tie, no answer, a failed call) is a draw. Programs that behave alike on every
input seen draw without a judge call. Verdicts are memoised per program pair.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from proxy.errors import BudgetExhaustedError
from proxy.scaling.budget import TOURNAMENT_SHARE
from proxy.scaling.context import RunContext, reply_text
from proxy.scaling.execution import describe_run
from proxy.scaling.prompts.judging import (
    SCORED_TOP_LOGPROBS,
    execution_judge_prompt,
    letter_probability,
    parse_verdict,
)
from proxy.scaling.synthesis import synthesize_distinguishing_inputs
from proxy.scaling.types import Cluster, Match
from sandbox import RunResult

MAX_SHOWN_INPUTS = 4
DECISION_MARGIN = 0.02


@dataclass(frozen=True, slots=True)
class Contender:
    """A cluster's representative program and its runs on the initial synthesized inputs."""

    cluster: Cluster
    program: str
    runs: tuple[RunResult, ...]


def schedule_pairs(clusters: Sequence[Cluster], max_pairs: int) -> list[tuple[int, int]]:
    """Cluster pairs to play, the largest clusters' games first, at most ``max_pairs``."""
    size = {c.id: len(c.members) for c in clusters}
    ids = [c.id for c in clusters]
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    pairs.sort(key=lambda p: (-(size[p[0]] + size[p[1]]), -max(size[p[0]], size[p[1]]), p))
    return pairs[: max(0, max_pairs)]


def decide(forward: float | None, backward: float | None) -> float | None:
    """P(first program correct), averaged over both orders; ``None`` unless both answered.

    ``forward`` is P(A) with the first program as A, ``backward`` P(A) with the second as A.
    """
    if forward is None or backward is None:
        return None
    return (forward + (1.0 - backward)) / 2


def first_wins(forward: float | None, backward: float | None) -> bool | None:
    """Whether the first program wins the match (``None``: a draw); see :func:`decide`."""
    p_first = decide(forward, backward)
    if p_first is None or abs(p_first - 0.5) <= DECISION_MARGIN:
        return None
    return p_first > 0.5


async def judge(
    ctx: RunContext,
    programs: tuple[str, str],
    *,
    inputs: tuple[str, ...],
    outputs: tuple[tuple[str, ...], tuple[str, ...]],
) -> float | None:
    """P(program A is correct) by one judge call in ``params.judge`` style; ``None`` without a
    usable answer."""
    scored = ctx.params.judge == "scored"
    prompt = execution_judge_prompt(
        ctx.task, programs=programs, inputs=inputs, outputs=outputs, scored=scored
    )
    if not scored:
        verdict = parse_verdict(reply_text(await ctx.ask(prompt, purpose="judge", temperature=0.0)))
        return None if verdict is None else float(verdict == "A")
    response = await ctx.ask(
        prompt, purpose="judge", temperature=0.0, max_tokens=1, top_logprobs=SCORED_TOP_LOGPROBS
    )
    return letter_probability(response.choices[0]) if response and response.choices else None


class Tournament:
    """Plays cluster pairs for one run; a pair of programs is never judged twice."""

    def __init__(self, ctx: RunContext, *, synthesized: tuple[str, ...]) -> None:
        self._ctx = ctx
        self._synthesized = synthesized
        self._memo: dict[frozenset[str], Match] = {}

    async def play_all(self, contenders: Sequence[Contender]) -> tuple[Match, ...]:
        """Play the scheduled pairs concurrently until done or the tournament's deadline."""
        budget = self._ctx.budget
        by_id = {c.cluster.id: c for c in contenders}
        pairs = schedule_pairs([c.cluster for c in contenders], self._ctx.params.max_pairs)
        try:
            async with (
                asyncio.timeout_at(budget.stage_deadline(TOURNAMENT_SHARE)),
                asyncio.TaskGroup() as group,
            ):
                for a, b in pairs:
                    group.create_task(self._play_safely(by_id[a], by_id[b]))
        except TimeoutError:
            budget.degrade("tournament cut short by the deadline")
        played = [self._memo.get(frozenset((by_id[a].program, by_id[b].program))) for a, b in pairs]
        matches = tuple(m for m in played if m is not None)
        if len(matches) < len(pairs):
            budget.degrade(f"tournament played {len(matches)} of {len(pairs)} pairs")
        return matches

    async def _play_safely(self, a: Contender, b: Contender) -> None:
        key = frozenset((a.program, b.program))
        if key in self._memo:
            return
        try:
            self._memo[key] = await self._play(a, b)
        except* BudgetExhaustedError as stopped:
            # NOTE: except*: the match's executions and judge calls run in task groups
            reasons = [e.reason for e in stopped.exceptions if isinstance(e, BudgetExhaustedError)]
            self._ctx.budget.degrade(f"tournament stopped: {reasons[0]}")

    async def _play(self, a: Contender, b: Contender) -> Match:
        ctx = self._ctx
        extra = await synthesize_distinguishing_inputs(ctx, (a.program, b.program))
        async with asyncio.TaskGroup() as group:
            runs_a = group.create_task(ctx.executor.run(a.program, extra))
            runs_b = group.create_task(ctx.executor.run(b.program, extra))
        rows = [
            *zip(extra, runs_a.result(), runs_b.result(), strict=True),
            *zip(self._synthesized, a.runs, b.runs, strict=False),
        ]
        differing = {r[0]: r for r in rows if ctx.executor.key(r[1]) != ctx.executor.key(r[2])}
        shown = list(differing.values())[:MAX_SHOWN_INPUTS]
        if not shown:
            return Match(a.cluster.id, b.cluster.id, (), (), (), ("same", "same"), None)
        inputs = tuple(r[0] for r in shown)
        outputs_a = tuple(describe_run(r[1], ctx.task.kind) for r in shown)
        outputs_b = tuple(describe_run(r[2], ctx.task.kind) for r in shown)
        async with asyncio.TaskGroup() as group:
            forward = group.create_task(
                judge(ctx, (a.program, b.program), inputs=inputs, outputs=(outputs_a, outputs_b))
            )
            backward = group.create_task(
                judge(ctx, (b.program, a.program), inputs=inputs, outputs=(outputs_b, outputs_a))
            )
        a_wins = first_wins(forward.result(), backward.result())
        winner = None if a_wins is None else (a.cluster.id if a_wins else b.cluster.id)
        verdicts = (
            _verdict(forward.result(), first=a.cluster.id, second=b.cluster.id),
            _verdict(backward.result(), first=b.cluster.id, second=a.cluster.id),
        )
        return Match(a.cluster.id, b.cluster.id, inputs, outputs_a, outputs_b, verdicts, winner)


def _verdict(p_first: float | None, *, first: int, second: int) -> str:
    """One order's answer for the trace: the cluster the judge favoured, and how surely."""
    if p_first is None:
        return "none"
    favoured = first if p_first >= 0.5 else second
    return f"{favoured} ({max(p_first, 1 - p_first):.2f})"
