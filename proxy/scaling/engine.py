"""The S* engine: plan → sample → test → (early stop | debug → escalate) → select → answer.

``ScalingEngine.run`` only sequences the stages (each a function in its own module) and builds the
result; it reads like the paper's figure. Every stage works with one ``RunContext``: the run's
``RunBudget`` (deadline, token cap, usage and call counts), the upstream, the ``Executor``
(limits, caching, sandbox faults as data), the task and the parameters. The initial input
synthesis needs only the problem, so it runs alongside sampling and debugging.

Budgets are a plan (``planning.py``): before sampling the run chooses N, the debug rounds and
the tournament so that each stage it starts can finish, from the upstream's measured speed
(``speed.py``, shared by the engine's runs); after sampling it plans debugging again with what
it measured. When the answer is already clear (the first sample passes every public test and
the samples that pass agree with it on every input run so far) the run stops early: no
debugging, no tournament. When nothing passes the public tests after debugging and time allows,
it samples another batch (escalation). Every plan, early stop and escalation is in the trace.

Failure policy: caps and faults degrade the run (fewer candidates, cheaper selection) and are
listed in ``ScalingResult.degraded``; the run still answers. Sub-calls are retried by the
engine's ``RetryPolicy`` (none unless given; the app passes the server's) in ``RunContext.call``,
and the run's breaker stops them once the upstream refuses or fails (``breaker.py``). It raises
only when nothing at all was produced: the upstream's own ``UpstreamError`` if every sampling
call failed with one (or the breaker's cause when sampling never got to call),
``ScalingBudgetExceededError`` if the deadline or token budget left no sample. Samples that came
back without any code are not an error: the first one is returned as the answer, with an empty
``program``, and the reason recorded. Cancelling the task running ``run`` cancels every upstream
call and sandbox run in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog

from proxy.errors import ScalingBudgetExceededError
from proxy.scaling.budget import RunBudget
from proxy.scaling.context import RunContext
from proxy.scaling.debugging import DebugPlan, debug_candidates, test_candidates
from proxy.scaling.execution import Executor
from proxy.scaling.observer import IgnorePicks, SelectionObserver
from proxy.scaling.planning import (
    Plan,
    debug_round_s,
    plan_run,
    reserve_s,
    selection_s,
    starter_tokens,
)
from proxy.scaling.programs import fence, replace_program, strip_reasoning
from proxy.scaling.sampling import Batch, sample_candidates
from proxy.scaling.selection import Selection, clear_answer, select_candidate
from proxy.scaling.speed import UNMEASURED, SpeedTracker, UpstreamProfile
from proxy.scaling.synthesis import synthesize_inputs
from proxy.scaling.types import (
    Candidate,
    CodeTask,
    ProgressCallback,
    ProgressEvent,
    ScalingParams,
    ScalingResult,
    StageTiming,
)
from proxy.upstream.base import Upstream, Usage
from proxy.upstream.retry import NO_RETRIES, RetryPolicy
from sandbox import Sandbox

log = structlog.get_logger(__name__)

SAMPLING_SLACK = 1.5
"""Separate sampling calls are waited for at least this multiple of the plan's estimate, if
selection keeps its time (see ``_Run.wait``)."""
PRIOR_SAMPLE_TOKENS = 300.0
"""A sample's length beyond the starter code before any was measured (a short program in a
fence, some prose)."""


class ScalingEngine:
    """Runs S* for code tasks against one upstream and one sandbox (both shared across runs).

    ``profile`` says what kind of upstream it is (``speed.PROFILES``); the engine's runs share
    one :class:`SpeedTracker`, so each run plans with what the earlier ones measured. ``retry``
    is how sub-calls are retried (none unless given; the app passes the server's policy).
    """

    def __init__(
        self,
        upstream: Upstream,
        sandbox: Sandbox,
        *,
        profile: UpstreamProfile = UNMEASURED,
        retry: RetryPolicy = NO_RETRIES,
    ) -> None:
        self._upstream = upstream
        self._sandbox = sandbox
        self._retry = retry
        self.speed = SpeedTracker(profile, sample_tokens=PRIOR_SAMPLE_TOKENS)

    async def run(
        self,
        task: CodeTask,
        params: ScalingParams,
        *,
        on_progress: ProgressCallback | None = None,
        observer: SelectionObserver | None = None,
    ) -> ScalingResult:
        """One S* run; see the module docstring for what raises and what degrades.

        ``observer`` is told what each cheaper selection mode would have picked.
        """
        budget = RunBudget(params, speed=self.speed, starter_tokens=starter_tokens(task))
        executor = Executor(self._sandbox, budget, task=task, params=params)
        ctx = RunContext(budget, self._upstream, executor, task, params, retry=self._retry)
        run = _Run(ctx, on_progress=on_progress, observer=observer or IgnorePicks())
        synthesis = None
        if params.selection in ("adaptive", "majority"):
            # NOTE: initial inputs need only the problem: requested while sampling runs.
            synthesis = asyncio.create_task(synthesize_inputs(ctx))
        try:
            return await run.execute(synthesis)
        finally:
            if synthesis is not None and not synthesis.done():
                synthesis.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await synthesis


def _live(candidates: tuple[Candidate, ...]) -> int:
    return sum(c.dropped_reason is None for c in candidates)


class _Run:
    """One run: its flow (``execute``), stage timings, plans, progress events and result."""

    def __init__(
        self, ctx: RunContext, *, on_progress: ProgressCallback | None, observer: SelectionObserver
    ) -> None:
        self.ctx = ctx
        self._on_progress = on_progress
        self._observer = observer
        self._timings: list[StageTiming] = []
        self._plans: list[str] = []
        self._plan = ""
        self._early_stop: str | None = None
        self._escalations = 0

    async def execute(self, synthesis: asyncio.Task[tuple[str, ...]] | None) -> ScalingResult:
        """Plan, sample, test, then stop early or debug (and escalate), then select."""
        ctx = self.ctx
        plan = self.plan()
        async with self.stage("sample") as done:
            candidates = await sample_candidates(ctx, Batch(plan.samples, 0, self.wait(plan)))
            done(len(candidates) == plan.samples)
        self.note("candidates_sampled", n=len(candidates), with_code=_live(candidates))
        if not candidates:
            error = ctx.budget.upstream_errors.get("sample") or ctx.budget.breaker.cause
            if error is not None:
                raise error
            raise ScalingBudgetExceededError(
                f"S* produced no candidate: {', '.join(ctx.budget.degraded) or 'no samples'}"
            )
        if all(c.dropped_reason is not None for c in candidates):
            return self.result_without_code(candidates)
        selection = None
        async with self.stage("debug") as done:
            candidates = await test_candidates(ctx, candidates)
            # NOTE: the input synthesis started with sampling: give it as long again, at most.
            waited = max(plan.sampling_s, self._timings[-1].duration_ms / 1000, 1.0)
            inputs_by = ctx.budget.now() + min(waited, ctx.budget.remaining_s() / 4)
            selection = await clear_answer(
                ctx, candidates, synthesis=synthesis, inputs_by=inputs_by
            )
            if selection is not None:
                self._early_stop = selection.reasons[0]
            else:
                candidates, completed = await self.debug(candidates, plan)
                candidates, escalated = await self.escalate(candidates, plan)
                done(completed and escalated)
        passing = sum(c.passes_public for c in candidates)
        self.note("candidates_debugged", passed_public=passing, tests=len(ctx.task.public_tests))
        async with self.stage("select") as done:
            if selection is not None:
                self._announce(selection.selected, candidates)
            else:
                selection = await select_candidate(
                    ctx,
                    candidates,
                    observer=self._observer,
                    synthesis=synthesis,
                    tournament=self.tournament_fits(),
                )
            done(not any("cut short" in d or "tournament played" in d for d in ctx.budget.degraded))
        self.note(
            "selection_done",
            mode=ctx.params.selection,
            selected=selection.selected,
            clusters=len(selection.clusters),
            matches=len(selection.matches),
            early_stop=self._early_stop is not None,
        )
        return self.result(candidates, selection)

    def plan(self, *, samples: int | None = None) -> Plan:
        """The widest complete run that fits the time left (``samples`` caps N)."""
        ctx = self.ctx
        params = ctx.params if samples is None else _with_samples(ctx.params, samples)
        speed = ctx.budget.speed
        assert speed is not None  # noqa: S101 - the engine always gives its runs a tracker
        plan = plan_run(
            ctx.task,
            params,
            speed.speed(ctx.task.model),
            debug_concurrency=speed.profile.debug_concurrency,
            time_left_s=ctx.budget.remaining_s(),
        )
        self._plans.append(f"{plan.summary()}: {plan.reason}")
        self._plan = self._plan or plan.summary()
        self.emit("plan", plan.summary())
        return plan

    async def debug(
        self, candidates: tuple[Candidate, ...], plan: Plan
    ) -> tuple[tuple[Candidate, ...], bool]:
        """Debug what fails, with rounds and time planned again from what sampling measured."""
        ctx = self.ctx
        speed = ctx.budget.speed
        assert speed is not None  # noqa: S101
        measured = speed.speed(ctx.task.model)
        round_s = debug_round_s(ctx.task, ctx.params, measured, plan.debug_concurrency)
        reserve = selection_s(ctx.task, ctx.params, measured, tournament=plan.tournament)
        left = ctx.budget.remaining_s()
        available = left - reserve_s(left) - reserve
        rounds = min(plan.rounds, max(0, int(available // round_s)) if round_s > 0 else 0)
        if rounds < plan.rounds:
            self._plans.append(
                f"debugging: {rounds} of {plan.rounds} round(s) fit the {available:.0f} s left "
                f"(a round {round_s:.0f} s)"
            )
        debug_plan = DebugPlan(
            rounds=rounds,
            concurrency=plan.debug_concurrency,
            deadline=ctx.budget.now() + max(0.0, available),
            round_s=round_s,
        )
        debugged, report = await debug_candidates(ctx, candidates, debug_plan)
        if report.started < report.programs:
            self._plans.append(
                f"debugging: {report.started} of {report.programs} failing programs (most "
                "promising first) fit the time"
            )
        # NOTE: "completed" means nothing it started was cut; what was planned away (rounds,
        # programs the time did not reach) is in plans.
        return debugged, report.completed

    async def escalate(
        self, candidates: tuple[Candidate, ...], plan: Plan
    ) -> tuple[tuple[Candidate, ...], bool]:
        """More samples while nothing passes the public tests and a complete batch fits."""
        ctx = self.ctx
        completed = True
        while (
            ctx.task.public_tests
            and not any(c.passes_public for c in candidates)
            and self._escalations < ctx.params.escalations
        ):
            extra = self.plan(samples=plan.samples)
            left = ctx.budget.remaining_s()
            if extra.total_s > left - reserve_s(left):
                break
            self._escalations += 1
            self.emit("sample", f"nothing passes the examples: {extra.samples} more samples")
            batch = Batch(extra.samples, first_index=len(candidates), wait_until=self.wait(extra))
            more = await test_candidates(ctx, await sample_candidates(ctx, batch))
            more, done = await self.debug(more, extra)
            completed = completed and done
            candidates = (*candidates, *more)
        return candidates, completed

    def wait(self, plan: Plan) -> float:
        """How long a batch of samples is waited for: as long as the rest of the plan still fits
        after it, and at least its estimate with some slack; never into the time the plan keeps
        for selection (a late sample is worth less than selecting among the ones that came).
        A batch that overruns its estimate costs debug rounds, which are planned again."""
        budget = self.ctx.budget
        left = budget.remaining_s()
        room = left - reserve_s(left)
        whole_plan_fits = room - plan.rounds * plan.debug_round_s - plan.selection_s
        latest = max(plan.sampling_s, room - plan.selection_s)
        return budget.now() + min(max(plan.sampling_s * SAMPLING_SLACK, whole_plan_fits), latest)

    def tournament_fits(self) -> bool:
        """Whether the tournament's estimate fits the time left."""
        ctx = self.ctx
        if ctx.params.selection != "adaptive" or ctx.budget.speed is None:
            return True
        measured = ctx.budget.speed.speed(ctx.task.model)
        needed = selection_s(ctx.task, ctx.params, measured, tournament=True)
        left = ctx.budget.remaining_s()
        fits = needed <= left - reserve_s(left)
        if not fits:
            self._plans.append(
                f"selection: the tournament's {needed:.0f} s do not fit the "
                f"{ctx.budget.remaining_s():.0f} s left; majority on executions"
            )
        return fits

    def _announce(self, selected: int, candidates: tuple[Candidate, ...]) -> None:
        """An early stop's picks: the first sample for the cheap modes, the clear answer for
        the rest (they would all pick within the one agreeing cluster)."""
        first = next(c.index for c in candidates if c.dropped_reason is None)
        self._observer.picked("first", first)
        self._observer.picked("public", first)
        mode = self.ctx.params.selection
        for step in ("majority", "adaptive") if mode == "adaptive" else (mode,):
            if step not in ("first", "public"):
                self._observer.picked(step, selected)

    def emit(self, stage: str, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(ProgressEvent(stage, message))

    def note(self, event: str, **counts: object) -> None:
        """Log a finished stage (with its duration) and tell a streaming client about it."""
        timing = self._timings[-1]
        log.info(
            event,
            duration_ms=round(timing.duration_ms),
            upstream_calls=timing.upstream_calls,
            executions=timing.executions,
            **counts,
        )
        self.emit(timing.stage, ", ".join(f"{k}={v}" for k, v in counts.items()))

    @asynccontextmanager
    async def stage(self, name: str) -> AsyncIterator[Callable[[bool], None]]:
        """Time a stage and attribute its calls, executions and tokens to it; the body says
        whether the stage completed what it planned (default: it did)."""
        self.emit(name, "started")
        budget = self.ctx.budget
        before = budget.snapshot()
        completed = [True]

        def done(value: bool) -> None:
            completed[0] = value

        try:
            yield done
        finally:
            after = budget.snapshot()
            usage = Usage(
                after.usage.prompt_tokens - before.usage.prompt_tokens,
                after.usage.completion_tokens - before.usage.completion_tokens,
            )
            self._timings.append(
                StageTiming(
                    stage=name,
                    duration_ms=round((after.at - before.at) * 1000, 3),
                    upstream_calls=after.calls - before.calls,
                    executions=after.executions - before.executions,
                    usage=usage,
                    completed=completed[0],
                )
            )

    def result(self, candidates: tuple[Candidate, ...], selection: Selection) -> ScalingResult:
        chosen = next(c for c in candidates if c.index == selection.selected)
        program = chosen.best.program
        message = (
            fence(program)
            if self.ctx.params.output == "code"
            else replace_program(
                chosen.revisions[0].message, program, entry_point=self.ctx.entry_point
            )
        )
        return self._build(candidates, selection, program=program, message=message)

    def result_without_code(self, candidates: tuple[Candidate, ...]) -> ScalingResult:
        self.ctx.budget.degrade("no sample contained code: answering with the first sample as is")
        selection = Selection(candidates[0].index, reasons=("no candidate to select from",))
        message = strip_reasoning(candidates[0].revisions[0].message)
        return self._build(candidates, selection, program="", message=message)

    def _build(
        self,
        candidates: tuple[Candidate, ...],
        selection: Selection,
        *,
        program: str,
        message: str,
    ) -> ScalingResult:
        budget = self.ctx.budget
        return ScalingResult(
            program=program,
            message=message,
            usage=budget.usage,
            upstream_calls=budget.calls,
            executions=budget.executions,
            selection=self.ctx.params.selection,
            selected=selection.selected,
            candidates=candidates,
            clusters=selection.clusters,
            matches=selection.matches,
            synthesized_inputs=selection.synthesized_inputs,
            mutated_inputs=selection.mutated_inputs,
            timings=tuple(self._timings),
            degraded=budget.degraded,
            reasons=selection.reasons,
            usage_by_purpose=tuple(sorted(budget.usage_by_purpose.items())),
            plan=self._plan,
            plans=tuple(self._plans),
            early_stop=self._early_stop,
            escalations=self._escalations,
        )


def _with_samples(params: ScalingParams, samples: int) -> ScalingParams:
    return dataclasses.replace(params, samples=samples)
