"""S* stage 3: selection, SSTAR.md §2 Stage 3, behind one interface for every mode.

Inputs: the run context and the debugged candidates (and, if the engine started it early, the
initial input synthesis). Output: a :class:`Selection` naming the chosen candidate with the
clusters, matches, synthesized inputs and the reasons for the choice.

``adaptive`` (default): public filter (if nobody passes everything, the best pass rate continues:
we still select), dedupe identical programs (counts kept), synthesize inputs, execute, cluster on
full output signatures, tournament between clusters, rank. ``majority``: the same without the
tournament. ``public``: the first candidate passing the public tests. ``judge``: an LLM judge on
code only. ``first``: the first sample with code. Whatever a cap or a fault cuts short, the stage
selects from what exists (largest cluster, best public pass rate) and says so.

Each step announces what it would answer with to a ``SelectionObserver`` (``observer.py``), so a
caller can learn what the cheaper modes would have picked; selection itself records nothing.
Knobs: ``params.selection``, ``num_synth_inputs``, ``max_pairs``; the deadline's shares.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from proxy.errors import BudgetExhaustedError
from proxy.scaling.budget import INPUTS_SHARE
from proxy.scaling.clustering import Behaviour, cluster_behaviours, rank_clusters
from proxy.scaling.context import RunContext, reply_text
from proxy.scaling.mutation import clustering_inputs
from proxy.scaling.observer import SelectionObserver
from proxy.scaling.programs import normalise_program
from proxy.scaling.prompts.judging import code_judge_prompt, parse_code_choice
from proxy.scaling.synthesis import synthesize_inputs
from proxy.scaling.tournament import Contender, Tournament
from proxy.scaling.types import Candidate, Cluster, Match
from sandbox import RunResult

CODE_JUDGE_MAX_PROGRAMS = 8


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen candidate and everything that explains the choice."""

    selected: int
    clusters: tuple[Cluster, ...] = ()
    matches: tuple[Match, ...] = ()
    synthesized_inputs: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    mutated_inputs: tuple[str, ...] = ()


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
    ctx: RunContext,
    candidates: tuple[Candidate, ...],
    *,
    observer: SelectionObserver,
    synthesis: asyncio.Task[tuple[str, ...]] | None = None,
    tournament: bool = True,
) -> Selection:
    """Choose one live candidate; ``candidates`` must contain at least one with code.

    ``synthesis`` is the initial input synthesis if the caller started it early (it needs only
    the problem, so the engine overlaps it with sampling); otherwise it is asked for here.
    ``tournament`` false: ``adaptive`` stops at the behaviour clusters (the plan had no time
    for the tournament).
    """
    mode = ctx.params.selection
    live = [c for c in candidates if c.dropped_reason is None]
    observer.picked("first", live[0].index)
    if mode == "first":
        return Selection(live[0].index, reasons=("selection 'first': the first sample with code",))
    pool, why = filter_public(live, len(ctx.task.public_tests))
    reasons = [why] if why else []
    observer.picked("public", pool[0].index)
    if mode == "public":
        return Selection(pool[0].index, reasons=(*reasons, "selection 'public': the first of them"))
    programs = dedupe(pool)
    reasons.append(f"{len(programs)} distinct program(s) among {len(pool)}")
    if len(programs) == 1:
        only = programs[0].candidate.index
        for step in ("majority", "adaptive") if mode == "adaptive" else (mode,):
            observer.picked(step, only)
        return Selection(only, reasons=(*reasons, "nothing to choose"))
    if mode == "judge":
        return await _judge_code(ctx, programs, reasons=reasons, observer=observer)
    own = synthesis is None
    inputs_task = asyncio.create_task(synthesize_inputs(ctx)) if synthesis is None else synthesis
    try:
        return await _select_by_behaviour(
            ctx,
            programs,
            reasons=reasons,
            observer=observer,
            synthesis=inputs_task,
            tournament=tournament,
        )
    finally:
        if own and not inputs_task.done():
            inputs_task.cancel()


async def clear_answer(
    ctx: RunContext,
    candidates: tuple[Candidate, ...],
    *,
    synthesis: asyncio.Task[tuple[str, ...]] | None,
    inputs_by: float,
) -> Selection | None:
    """An early stop, when the answer is already clear: the first sample (the greedy one)
    passes every public test, and the samples passing them too, at least half of the live
    ones, behave like it on every input run so far (the synthesized inputs if they arrive by
    ``inputs_by``, the public ones and their variants), at least one of them not a public test
    (on those alone, programs that pass them agree by definition). ``None`` when it is not that
    clear.

    The pool's executions are memoised, so a full selection after a ``None`` runs nothing
    twice.
    """
    live = [c for c in candidates if c.dropped_reason is None]
    if not ctx.task.public_tests or not live or not live[0].passes_public or live[0].index != 0:
        return None
    passing = [c for c in live if c.passes_public]
    if 2 * len(passing) < len(live):
        return None
    programs = dedupe(passing)
    synthesized = await _inputs(ctx, synthesis, until=inputs_by) if synthesis else ()
    seen = await _observe(ctx, programs, synthesized, until=ctx.budget.stage_deadline(INPUTS_SHARE))
    public = {t.input for t in ctx.task.public_tests}
    if not seen.runs or all(given in public for given in seen.inputs):
        return None
    clusters = cluster_behaviours(_behaviours(ctx, programs, seen))
    if len(clusters) != 1:
        return None
    (only,) = clusters
    reason = (
        f"early stop: the first sample passes all {len(ctx.task.public_tests)} public tests and "
        f"the {len(passing)} of {len(live)} samples passing them behave alike on "
        f"{len(seen.inputs)} input(s)"
    )
    return Selection(
        only.representative,
        clusters,
        (),
        seen.synthesized,
        (reason,),
        seen.mutated,
    )


@dataclass(frozen=True, slots=True)
class _Observation:
    """What executing the distinct programs showed: the inputs used and each program's runs."""

    synthesized: tuple[str, ...]
    mutated: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    runs: tuple[tuple[RunResult, ...], ...] = ()


async def _select_by_behaviour(
    ctx: RunContext,
    programs: list[_Program],
    *,
    reasons: list[str],
    observer: SelectionObserver,
    synthesis: asyncio.Task[tuple[str, ...]],
    tournament: bool,
) -> Selection:
    synthesized = await _inputs(ctx, synthesis, until=ctx.budget.stage_deadline(INPUTS_SHARE))
    # NOTE: the executions get a share of what the wait left, not the wait's deadline: inputs
    # that never came must still leave time to cluster on the known ones.
    seen = await _observe(ctx, programs, synthesized, until=ctx.budget.stage_deadline(INPUTS_SHARE))
    if seen.inputs and not seen.synthesized:
        reasons.append("no synthesized inputs: clustered on the public inputs")
    if seen.mutated:
        reasons.append(
            f"{len(seen.mutated)} input(s) varied from the known ones (type-aware variants)"
        )
    behaviours = _behaviours(ctx, programs, seen)
    clusters = cluster_behaviours(behaviours)
    total = max(1, len(ctx.task.public_tests))
    passed = {b.index: b.public_passed for b in behaviours}
    rate = {c.id: passed[c.representative] / total for c in clusters}
    reasons.append(f"{len(clusters)} behaviour cluster(s) on {len(seen.inputs)} input(s)")
    observer.picked(
        "majority", rank_clusters(clusters, wins={}, public_rate=rate)[0].representative
    )
    matches: tuple[Match, ...] = ()
    if len(clusters) > 1 and ctx.params.selection == "adaptive" and seen.runs and not tournament:
        reasons.append("tournament skipped: the plan leaves it no time")
    elif len(clusters) > 1 and ctx.params.selection == "adaptive" and seen.runs:
        runs = {p.candidate.index: (p, r) for p, r in zip(programs, seen.runs, strict=True)}
        contenders = [
            Contender(
                c, runs[c.representative][0].candidate.best.program, runs[c.representative][1]
            )
            for c in clusters
        ]
        matches = await Tournament(ctx, synthesized=seen.inputs).play_all(contenders)
        decided = sum(m.winner is not None for m in matches)
        reasons.append(f"tournament: {len(matches)} match(es), {decided} decided")
    wins = Counter(m.winner for m in matches if m.winner is not None)
    winner = rank_clusters(clusters, wins=wins, public_rate=rate)[0]
    reasons.append(
        f"winner: cluster {winner.id} ({len(winner.members)} member(s), {wins.get(winner.id, 0)} "
        f"win(s)); representative candidate {winner.representative}"
    )
    if ctx.params.selection == "adaptive":
        observer.picked("adaptive", winner.representative)
    return Selection(
        winner.representative,
        clusters,
        matches,
        seen.synthesized,
        tuple(reasons),
        seen.mutated,
    )


async def _inputs(
    ctx: RunContext, synthesis: asyncio.Task[tuple[str, ...]], *, until: float
) -> tuple[str, ...]:
    """The synthesized inputs if they are in by ``until`` (loop time), else none for now (the
    task goes on: a later step may still use them)."""
    done, _ = await asyncio.wait({synthesis}, timeout=max(0.0, until - ctx.budget.now()))
    if synthesis in done and not synthesis.cancelled() and synthesis.exception() is None:
        return synthesis.result()
    ctx.budget.degrade("input synthesis not finished in time: clustered on the known inputs")
    return ()


async def _observe(
    ctx: RunContext, programs: list[_Program], synthesized: tuple[str, ...], *, until: float
) -> _Observation:
    """Run every program on the synthesized inputs (else the public ones) and their variants."""
    inputs, mutated = clustering_inputs(ctx.task, synthesized, limit=ctx.params.num_synth_inputs)
    if not inputs:
        ctx.budget.degrade("no inputs to execute: programs were not clustered by behaviour")
        return _Observation(synthesized)
    try:
        async with asyncio.timeout_at(until), asyncio.TaskGroup() as group:
            pending = [group.create_task(_run_or_none(ctx, p, inputs)) for p in programs]
    except TimeoutError:
        ctx.budget.degrade("execution for clustering cut short by the deadline")
        return _Observation(synthesized, mutated)
    runs = [t.result() for t in pending]
    if any(r is None for r in runs):
        return _Observation(synthesized, mutated)
    return _Observation(synthesized, mutated, inputs, tuple(r for r in runs if r is not None))


def _behaviours(ctx: RunContext, programs: list[_Program], seen: _Observation) -> list[Behaviour]:
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
            signature=tuple(ctx.executor.key(r) for r in runs),
        )
        for p, runs in zip(programs, seen.runs, strict=True)
    ]


async def _run_or_none(
    ctx: RunContext, program: _Program, inputs: tuple[str, ...]
) -> tuple[RunResult, ...] | None:
    try:
        return await ctx.executor.run(program.candidate.best.program, inputs)
    except BudgetExhaustedError as exc:
        ctx.budget.degrade(f"clustering without execution: {exc.reason}")
        return None


async def _judge_code(
    ctx: RunContext, programs: list[_Program], *, reasons: list[str], observer: SelectionObserver
) -> Selection:
    shown = sorted(programs, key=lambda p: (-len(p.members), p.candidate.index))
    shown = shown[:CODE_JUDGE_MAX_PROGRAMS]
    prompt = code_judge_prompt(ctx.task, programs=[p.candidate.best.program for p in shown])
    text = reply_text(await ctx.ask(prompt, purpose="judge", temperature=0.0))
    choice = parse_code_choice(text, count=len(shown))
    if choice is not None:
        reasons.append(f"selection 'judge': the judge chose candidate {choice} of {len(shown)}")
        chosen = shown[choice - 1].candidate.index
    else:
        ctx.budget.degrade("the code judge gave no usable answer; took the most common program")
        chosen = shown[0].candidate.index
    observer.picked("judge", chosen)
    return Selection(chosen, reasons=tuple(reasons))
