"""S* stage 3: selection, SSTAR.md §2 Stage 3, behind one interface for every mode.

Inputs: the debugged candidates, the public tests, ``ScalingParams.selection`` and the caps
(``num_synth_inputs``, ``max_pairs``, the deadline). Output: a :class:`Selection` naming the
chosen candidate with the clusters, matches, synthesized inputs and the reasons for the choice.

``adaptive`` (default): public filter (if nobody passes everything, the best pass rate continues:
we still select), dedupe identical programs (counts kept), synthesize inputs, execute, cluster on
full output signatures, tournament between clusters, rank. ``majority``: the same without the
tournament. ``public``: the first candidate passing the public tests. ``judge``: an LLM judge on
code only. ``first``: the first sample with code. Whatever a cap or a fault cuts short, the stage
selects from what exists (largest cluster, best public pass rate) and says so.

The cheaper modes are steps of the dearer ones, so the stage records each step's pick
(:class:`Pick`) on the way: an ``adaptive`` run also says what ``first``, ``public`` and
``majority`` would have answered from the same candidates, and what each would have cost.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass

from proxy.scaling.budget import BudgetExhaustedError, RunBudget
from proxy.scaling.clustering import Behaviour, cluster_behaviours, rank_clusters
from proxy.scaling.code import normalise_program, strip_reasoning
from proxy.scaling.execution import Executor
from proxy.scaling.mutation import clustering_inputs
from proxy.scaling.prompts import JUDGE_CODE, JUDGE_CODE_ITEM
from proxy.scaling.synthesis import ask, synthesize_inputs
from proxy.scaling.tournament import Contender, Tournament
from proxy.scaling.types import (
    Candidate,
    Cluster,
    CodeTask,
    Match,
    Pick,
    ScalingParams,
    SelectionMode,
)
from proxy.upstream.base import Purpose, Upstream
from sandbox import RunResult

CODE_JUDGE_MAX_PROGRAMS = 8
_EVERY_MODE: frozenset[Purpose] = frozenset({"sample", "debug", "extraction"})
MODE_PURPOSES: Mapping[SelectionMode, frozenset[Purpose]] = {
    "first": _EVERY_MODE,
    "public": _EVERY_MODE,
    "majority": _EVERY_MODE | {"synthesis"},
    "judge": _EVERY_MODE | {"judge"},
    "adaptive": _EVERY_MODE | {"synthesis", "distinguish", "judge"},
}
_CODE_ANSWER = re.compile(
    r"answer[*_\s]*(?:is\b)?[*_\s]*[:\uff1a]?[\s*_`\"'(\[#]*(?:candidate\s+)?(\d+)", re.I
)


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen candidate and everything that explains the choice."""

    selected: int
    clusters: tuple[Cluster, ...] = ()
    matches: tuple[Match, ...] = ()
    synthesized_inputs: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    picks: tuple[Pick, ...] = ()
    mutated_inputs: tuple[str, ...] = ()


def pick(budget: RunBudget, selection: SelectionMode, candidate: int) -> Pick:
    """Record that ``selection`` would answer with ``candidate``, as of now."""
    return Pick(
        selection, candidate, budget.elapsed_ms(), budget.usage_for(MODE_PURPOSES[selection])
    )


@dataclass(frozen=True, slots=True)
class _Program:
    """A distinct program among the filtered candidates."""

    candidate: Candidate
    members: tuple[int, ...]


def filter_public(
    candidates: Sequence[Candidate], total: int
) -> tuple[list[Candidate], str | None]:
    """Candidates passing every public test, or (fallback) those with the best pass count."""
    if total == 0:
        return list(candidates), "no public tests: every candidate goes to selection"
    best = max(c.best.passed for c in candidates)
    pool = [c for c in candidates if c.best.passed == best]
    if best == total:
        return pool, f"{len(pool)} candidate(s) pass all {total} public tests"
    return pool, (
        f"no candidate passes all {total} public tests; the {len(pool)} passing {best} go on"
    )


def dedupe(candidates: Sequence[Candidate]) -> list[_Program]:
    """Merge candidates whose normalised programs are identical, keeping who shares each."""
    groups: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(normalise_program(candidate.best.program), []).append(candidate)
    return [_Program(g[0], tuple(c.index for c in g)) for g in groups.values()]


async def select_candidate(
    budget: RunBudget,
    upstream: Upstream,
    *,
    executor: Executor,
    task: CodeTask,
    params: ScalingParams,
    candidates: tuple[Candidate, ...],
    synthesis: Awaitable[tuple[str, ...]] | None = None,
) -> Selection:
    """Choose one live candidate; ``candidates`` must contain at least one with code.

    ``synthesis`` is the initial input synthesis if the caller started it early (it needs only
    the problem, so the engine overlaps it with sampling); otherwise it is asked for here.
    """
    live = [c for c in candidates if c.dropped_reason is None]
    picks = [pick(budget, "first", live[0].index)]
    if params.selection == "first":
        return Selection(
            live[0].index,
            reasons=("selection 'first': the first sample with code",),
            picks=tuple(picks),
        )
    pool, why = filter_public(live, len(task.public_tests))
    reasons = [why] if why else []
    picks.append(pick(budget, "public", pool[0].index))
    if params.selection == "public":
        reasons.append("selection 'public': the first of them")
        return Selection(pool[0].index, reasons=tuple(reasons), picks=tuple(picks))
    programs = dedupe(pool)
    reasons.append(f"{len(programs)} distinct program(s) among {len(pool)}")
    if len(programs) == 1:
        only = programs[0].candidate.index
        later: tuple[SelectionMode, ...] = (
            ("majority", "adaptive") if params.selection == "adaptive" else (params.selection,)
        )
        picks.extend(pick(budget, mode, only) for mode in later)
        return Selection(only, reasons=(*reasons, "nothing to choose"), picks=tuple(picks))
    if params.selection == "judge":
        return await _judge_code(
            budget,
            upstream,
            task=task,
            params=params,
            programs=programs,
            reasons=reasons,
            picks=picks,
        )
    if synthesis is None:
        synthesis = synthesize_inputs(budget, upstream, task=task, params=params)
    return await _select_by_behaviour(
        budget,
        upstream,
        executor=executor,
        task=task,
        params=params,
        programs=programs,
        reasons=reasons,
        picks=picks,
        synthesis=synthesis,
    )


@dataclass(frozen=True, slots=True)
class _Observation:
    """What executing the distinct programs showed: the inputs used and each program's runs."""

    synthesized: tuple[str, ...]
    mutated: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    runs: tuple[tuple[RunResult, ...], ...] = ()


async def _select_by_behaviour(
    budget: RunBudget,
    upstream: Upstream,
    *,
    executor: Executor,
    task: CodeTask,
    params: ScalingParams,
    programs: list[_Program],
    reasons: list[str],
    picks: list[Pick],
    synthesis: Awaitable[tuple[str, ...]],
) -> Selection:
    seen = await _observe(
        budget, executor=executor, task=task, params=params, programs=programs, synthesis=synthesis
    )
    if seen.inputs and not seen.synthesized:
        reasons.append("no synthesized inputs: clustered on the public inputs")
    if seen.mutated:
        reasons.append(
            f"{len(seen.mutated)} input(s) varied from the known ones (type-aware variants)"
        )
    behaviours = _behaviours(programs, seen, executor=executor)
    clusters = cluster_behaviours(behaviours)
    total = max(1, len(task.public_tests))
    passed = {b.index: b.public_passed for b in behaviours}
    rate = {c.id: passed[c.representative] / total for c in clusters}
    reasons.append(f"{len(clusters)} behaviour cluster(s) on {len(seen.inputs)} input(s)")
    largest = rank_clusters(clusters, wins={}, public_rate=rate)[0]
    picks.append(pick(budget, "majority", largest.representative))
    matches: tuple[Match, ...] = ()
    if len(clusters) > 1 and params.selection == "adaptive" and seen.runs:
        by_index = {p.candidate.index: (p, r) for p, r in zip(programs, seen.runs, strict=True)}
        contenders = [
            Contender(
                c,
                by_index[c.representative][0].candidate.best.program,
                by_index[c.representative][1],
            )
            for c in clusters
        ]
        tournament = Tournament(
            budget, upstream, executor=executor, task=task, params=params, synthesized=seen.inputs
        )
        matches = await tournament.play_all(contenders, deadline=budget.stage_deadline(0.95))
        decided = sum(m.winner is not None for m in matches)
        reasons.append(f"tournament: {len(matches)} match(es), {decided} decided")
    wins = Counter(m.winner for m in matches if m.winner is not None)
    winner = rank_clusters(clusters, wins=wins, public_rate=rate)[0]
    reasons.append(
        f"winner: cluster {winner.id} ({len(winner.members)} member(s), {wins.get(winner.id, 0)} "
        f"win(s)); representative candidate {winner.representative}"
    )
    if params.selection == "adaptive":
        picks.append(pick(budget, "adaptive", winner.representative))
    return Selection(
        winner.representative,
        clusters,
        matches,
        seen.synthesized,
        tuple(reasons),
        tuple(picks),
        seen.mutated,
    )


async def _observe(
    budget: RunBudget,
    *,
    executor: Executor,
    task: CodeTask,
    params: ScalingParams,
    programs: list[_Program],
    synthesis: Awaitable[tuple[str, ...]],
) -> _Observation:
    """Await the synthesized inputs (else use the public ones), add their variants, and run
    every program on them all."""
    synthesized: tuple[str, ...] = ()
    mutated: tuple[str, ...] = ()
    try:
        async with asyncio.timeout_at(budget.stage_deadline(0.5)):
            synthesized = await synthesis
            inputs, mutated = clustering_inputs(task, synthesized, limit=params.num_synth_inputs)
            if not inputs:
                budget.degrade("no inputs to execute: programs were not clustered by behaviour")
                return _Observation(synthesized)
            async with asyncio.TaskGroup() as group:
                pending = [
                    group.create_task(_run_or_none(budget, executor, program=p, inputs=inputs))
                    for p in programs
                ]
    except TimeoutError:
        budget.degrade("input synthesis or execution cut short by the deadline")
        return _Observation(synthesized, mutated)
    runs = [t.result() for t in pending]
    if any(r is None for r in runs):
        return _Observation(synthesized, mutated)
    return _Observation(synthesized, mutated, inputs, tuple(r for r in runs if r is not None))


def _behaviours(
    programs: list[_Program], seen: _Observation, *, executor: Executor
) -> list[Behaviour]:
    if not seen.runs:
        # NOTE: no behaviour evidence: every distinct program stands alone; size decides.
        return [
            Behaviour(p.candidate.index, p.members, p.candidate.best.passed, 0.0, (f"#{i}",))
            for i, p in enumerate(programs)
        ]
    return [
        Behaviour(
            index=p.candidate.index,
            members=p.members,
            public_passed=p.candidate.best.passed,
            time_s=sum(r.time_s for r in runs),
            signature=tuple(executor.key(r) for r in runs),
        )
        for p, runs in zip(programs, seen.runs, strict=True)
    ]


async def _run_or_none(
    budget: RunBudget, executor: Executor, *, program: _Program, inputs: tuple[str, ...]
) -> tuple[RunResult, ...] | None:
    try:
        return await executor.run(program.candidate.best.program, inputs)
    except BudgetExhaustedError as exc:
        budget.degrade(f"clustering without execution: {exc.reason}")
        return None


async def _judge_code(
    budget: RunBudget,
    upstream: Upstream,
    *,
    task: CodeTask,
    params: ScalingParams,
    programs: list[_Program],
    reasons: list[str],
    picks: list[Pick],
) -> Selection:
    shown = sorted(programs, key=lambda p: (-len(p.members), p.candidate.index))
    shown = shown[:CODE_JUDGE_MAX_PROGRAMS]
    items = "\n\n".join(
        JUDGE_CODE_ITEM.format(number=number, program=p.candidate.best.program)
        for number, p in enumerate(shown, start=1)
    )
    prompt = JUDGE_CODE.format(problem=task.problem, programs=items)
    text = await ask(
        budget, upstream, task=task, params=params, prompt=prompt, purpose="judge", temperature=0.0
    )
    answers = _CODE_ANSWER.findall(strip_reasoning(text))
    choice = int(answers[-1]) if answers else 0
    if 1 <= choice <= len(shown):
        reasons.append(f"selection 'judge': the judge chose candidate {choice} of {len(shown)}")
        chosen = shown[choice - 1].candidate.index
    else:
        budget.degrade("the code judge gave no usable answer; took the most common program")
        chosen = shown[0].candidate.index
    picks.append(pick(budget, "judge", chosen))
    return Selection(chosen, reasons=tuple(reasons), picks=tuple(picks))
