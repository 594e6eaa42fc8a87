"""S* stage 3: the pairwise tournament between behaviour clusters.

Inputs: one contender per cluster (its representative program and its runs on the initial
synthesized inputs), ``ScalingParams.max_pairs`` and a stage deadline. Outputs: one ``Match`` per
pair played. Pairs are scheduled largest clusters first and capped; they are played concurrently.

Each game: ask the model for inputs that would distinguish *these two* programs (adaptive input
synthesis), execute both, and show the judge the problem, both programs, the inputs on which
their real outputs differ (adaptive ones first, then initial ones) and those actual outputs, never
predicted ones. The judge is asked twice with the programs' order swapped, and each answer is
read as the probability that the program shown first is correct:

``reasoned`` (``ScalingParams.judge``): the judge works it out in text and ends with a letter, so
each order gives 1 or 0 and only a consistent pair of answers decides (as in the paper).
``scored``: the judge answers with one letter and the upstream's ``top_logprobs`` give P(A) and
P(B) (balanced position calibration, Wang et al. 2023, "Large Language Models are not Fair
Evaluators"). A small model that always says "A" still says it *less* surely when the worse
program is shown first; averaging P(a correct) over both orders cancels the position bias and
keeps that signal. Without logprobs the letter itself counts as 1 or 0.

The match goes to a program when its averaged probability is above 1/2 by ``DECISION_MARGIN``;
anything else (a tie, no answer, a failed call) is a draw. Programs that behave alike on every
input seen draw without a judge call. Verdicts are memoised per program pair.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from proxy.errors import UpstreamError
from proxy.scaling.budget import BudgetExhaustedError, RunBudget
from proxy.scaling.code import strip_reasoning
from proxy.scaling.execution import Executor, describe_run
from proxy.scaling.prompts import (
    JUDGE_EXECUTION,
    JUDGE_EXECUTION_ITEM,
    JUDGE_EXECUTION_SCORED,
    clip,
)
from proxy.scaling.synthesis import ask, synthesize_distinguishing_inputs
from proxy.scaling.types import Cluster, CodeTask, Match, ScalingParams
from proxy.upstream.base import Choice, Message, Upstream, UpstreamRequest
from sandbox import RunResult

MAX_SHOWN_INPUTS = 4
DECISION_MARGIN = 0.02
SCORED_TOP_LOGPROBS = 10
_ANSWER = re.compile(
    r"answer[*_\s]*(?:is\b)?[*_\s]*[:\uff1a]?[\s*_`\"'(\[]*(?:program\s+)?([AB])\b", re.IGNORECASE
)


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


def parse_verdict(text: str) -> str | None:
    """``"A"`` or ``"B"`` from the judge's final ``Answer:`` line, else ``None``."""
    answers = _ANSWER.findall(strip_reasoning(text))
    return answers[-1].upper() if answers else None


def letter_probability(choice: Choice) -> float | None:
    """P(A) / (P(A) + P(B)) at the answer's first token; the letter itself (1 or 0) when the
    upstream sent no logprobs; ``None`` when neither letter is there."""
    if choice.top_logprobs:
        mass = {"A": 0.0, "B": 0.0}
        for token, logprob in choice.top_logprobs[0].items():
            if token.strip() in mass:
                mass[token.strip()] += math.exp(logprob)
        if mass["A"] + mass["B"] > 0:
            return mass["A"] / (mass["A"] + mass["B"])
    letter = choice.text.strip()[:1]
    return {"A": 1.0, "B": 0.0}.get(letter)


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


class Tournament:
    """Plays cluster pairs for one run; a pair of programs is never judged twice."""

    def __init__(
        self,
        budget: RunBudget,
        upstream: Upstream,
        *,
        executor: Executor,
        task: CodeTask,
        params: ScalingParams,
        synthesized: tuple[str, ...],
    ) -> None:
        self._budget = budget
        self._upstream = upstream
        self._executor = executor
        self._task = task
        self._params = params
        self._synthesized = synthesized
        self._memo: dict[frozenset[str], Match] = {}

    async def play_all(
        self, contenders: Sequence[Contender], *, deadline: float
    ) -> tuple[Match, ...]:
        """Play the scheduled pairs concurrently until done or the deadline."""
        by_id = {c.cluster.id: c for c in contenders}
        pairs = schedule_pairs([c.cluster for c in contenders], self._params.max_pairs)
        try:
            async with asyncio.timeout_at(deadline), asyncio.TaskGroup() as group:
                for a, b in pairs:
                    group.create_task(self._play_safely(by_id[a], by_id[b]))
        except TimeoutError:
            self._budget.degrade("tournament cut short by the deadline")
        played = [self._memo.get(frozenset((by_id[a].program, by_id[b].program))) for a, b in pairs]
        matches = tuple(m for m in played if m is not None)
        if len(matches) < len(pairs):
            self._budget.degrade(f"tournament played {len(matches)} of {len(pairs)} pairs")
        return matches

    async def _play_safely(self, a: Contender, b: Contender) -> None:
        key = frozenset((a.program, b.program))
        if key in self._memo:
            return
        try:
            self._memo[key] = await self._play(a, b)
        except BudgetExhaustedError as exc:
            self._budget.degrade(f"tournament stopped: {exc.reason}")

    async def _play(self, a: Contender, b: Contender) -> Match:
        extra = await synthesize_distinguishing_inputs(
            self._budget,
            self._upstream,
            task=self._task,
            params=self._params,
            programs=(a.program, b.program),
        )
        async with asyncio.TaskGroup() as group:
            runs_a = group.create_task(self._executor.run(a.program, extra))
            runs_b = group.create_task(self._executor.run(b.program, extra))
        rows = [
            *zip(extra, runs_a.result(), runs_b.result(), strict=True),
            *zip(self._synthesized, a.runs, b.runs, strict=False),
        ]
        differing = {r[0]: r for r in rows if self._executor.key(r[1]) != self._executor.key(r[2])}
        shown = list(differing.values())[:MAX_SHOWN_INPUTS]
        inputs = tuple(r[0] for r in shown)
        outputs_a = tuple(describe_run(r[1], self._task.kind) for r in shown)
        outputs_b = tuple(describe_run(r[2], self._task.kind) for r in shown)
        if not shown:
            return Match(a.cluster.id, b.cluster.id, (), (), (), ("same", "same"), None)
        async with asyncio.TaskGroup() as group:
            forward = group.create_task(
                self._judge((a.program, b.program), inputs=inputs, outputs=(outputs_a, outputs_b))
            )
            backward = group.create_task(
                self._judge((b.program, a.program), inputs=inputs, outputs=(outputs_b, outputs_a))
            )
        a_wins = first_wins(forward.result(), backward.result())
        winner = None if a_wins is None else (a.cluster.id if a_wins else b.cluster.id)
        verdicts = (
            _verdict(forward.result(), first=a.cluster.id, second=b.cluster.id),
            _verdict(backward.result(), first=b.cluster.id, second=a.cluster.id),
        )
        return Match(a.cluster.id, b.cluster.id, inputs, outputs_a, outputs_b, verdicts, winner)

    async def _judge(
        self,
        programs: tuple[str, str],
        *,
        inputs: tuple[str, ...],
        outputs: tuple[tuple[str, ...], tuple[str, ...]],
    ) -> float | None:
        return await judge_once(
            self._budget,
            self._upstream,
            task=self._task,
            params=self._params,
            programs=programs,
            inputs=inputs,
            outputs=outputs,
        )


async def judge_once(
    budget: RunBudget,
    upstream: Upstream,
    *,
    task: CodeTask,
    params: ScalingParams,
    programs: tuple[str, str],
    inputs: tuple[str, ...],
    outputs: tuple[tuple[str, ...], tuple[str, ...]],
) -> float | None:
    """P(program A is correct) by one judge call in ``params.judge`` style; ``None`` without a
    usable answer. Public so a benchmark can replay recorded matches with another judge."""
    executions = "\n\n".join(
        JUDGE_EXECUTION_ITEM.format(
            number=number,
            input=clip(given, 800),
            output_a=clip(out_a, 800),
            output_b=clip(out_b, 800),
        )
        for number, (given, out_a, out_b) in enumerate(
            zip(inputs, outputs[0], outputs[1], strict=True), start=1
        )
    )
    scored = params.judge == "scored"
    prompt = (JUDGE_EXECUTION_SCORED if scored else JUDGE_EXECUTION).format(
        problem=task.problem, program_a=programs[0], program_b=programs[1], executions=executions
    )
    if not scored:
        text = await ask(
            budget,
            upstream,
            task=task,
            params=params,
            prompt=prompt,
            purpose="judge",
            temperature=0.0,
        )
        verdict = parse_verdict(text)
        return None if verdict is None else float(verdict == "A")
    request = UpstreamRequest(
        model=params.aux_model or task.model,
        messages=(Message("user", prompt),),
        temperature=0.0,
        max_tokens=1,
        seed=params.seed,
        purpose="judge",
        top_logprobs=SCORED_TOP_LOGPROBS,
    )
    try:
        response = await budget.complete(upstream, request)
    except UpstreamError as exc:
        budget.degrade(f"a judge call failed: {type(exc).__name__}: {exc.message[:200]}")
        return None
    except BudgetExhaustedError as exc:
        budget.degrade(f"judge skipped: {exc.reason}")
        return None
    return letter_probability(response.choices[0]) if response.choices else None


def _verdict(p_first: float | None, *, first: int, second: int) -> str:
    """One order's answer for the trace: the cluster the judge favoured, and how surely."""
    if p_first is None:
        return "none"
    favoured = first if p_first >= 0.5 else second
    return f"{favoured} ({max(p_first, 1 - p_first):.2f})"
