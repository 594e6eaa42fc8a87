"""The S* engine: sample → debug → synthesize inputs, execute, cluster, judge → answer.

``ScalingEngine.run`` only sequences the stages (each a function in its own module) and builds the
result; it reads like the paper's figure. Every stage works with one ``RunContext``: the run's
``RunBudget`` (deadline, token cap, usage and call counts), the upstream, the ``Executor``
(limits, caching, sandbox faults as data), the task and the parameters. The initial input
synthesis needs only the problem, so it runs alongside sampling and debugging; its call and
tokens count in whichever stage was running when it ended.

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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from proxy.errors import ScalingBudgetExceededError
from proxy.scaling.budget import RunBudget
from proxy.scaling.context import RunContext
from proxy.scaling.debugging import debug_candidates
from proxy.scaling.execution import Executor
from proxy.scaling.observer import IgnorePicks, SelectionObserver
from proxy.scaling.programs import fence, replace_program, strip_reasoning
from proxy.scaling.sampling import sample_candidates
from proxy.scaling.selection import Selection, select_candidate
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


class ScalingEngine:
    """Runs S* for code tasks against one upstream and one sandbox (both shared across runs)."""

    def __init__(
        self, upstream: Upstream, sandbox: Sandbox, *, retry: RetryPolicy = NO_RETRIES
    ) -> None:
        self._upstream = upstream
        self._sandbox = sandbox
        self._retry = retry

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
        budget = RunBudget(params)
        executor = Executor(self._sandbox, budget, task=task, params=params)
        ctx = RunContext(budget, self._upstream, executor, task, params, retry=self._retry)
        run = _Run(ctx, on_progress=on_progress)
        # NOTE: initial inputs need only the problem, so they are requested while sampling runs:
        # off the critical path. The call is wasted only when every program agrees.
        synthesis = None
        if params.selection in ("adaptive", "majority"):
            synthesis = asyncio.create_task(synthesize_inputs(ctx))
        try:
            return await self._run(run, synthesis, observer or IgnorePicks())
        finally:
            if synthesis is not None and not synthesis.done():
                synthesis.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await synthesis

    async def _run(
        self,
        run: _Run,
        synthesis: asyncio.Task[tuple[str, ...]] | None,
        observer: SelectionObserver,
    ) -> ScalingResult:
        ctx = run.ctx
        async with run.stage("sample"):
            candidates = await sample_candidates(ctx)
        run.note("candidates_sampled", n=len(candidates), with_code=_live(candidates))
        if not candidates:
            error = ctx.budget.upstream_errors.get("sample") or ctx.budget.breaker.cause
            if error is not None:
                raise error
            raise ScalingBudgetExceededError(
                f"S* produced no candidate: {', '.join(ctx.budget.degraded) or 'no samples'}"
            )
        if all(c.dropped_reason is not None for c in candidates):
            return run.result_without_code(candidates)
        async with run.stage("debug"):
            candidates = await debug_candidates(ctx, candidates)
        passing = sum(c.passes_public for c in candidates)
        run.note("candidates_debugged", passed_public=passing, tests=len(ctx.task.public_tests))
        async with run.stage("select"):
            selection = await select_candidate(
                ctx, candidates, observer=observer, synthesis=synthesis
            )
        run.note(
            "selection_done",
            mode=ctx.params.selection,
            selected=selection.selected,
            clusters=len(selection.clusters),
            matches=len(selection.matches),
        )
        return run.result(candidates, selection)


def _live(candidates: tuple[Candidate, ...]) -> int:
    return sum(c.dropped_reason is None for c in candidates)


class _Run:
    """Per-run bookkeeping: stage timings, progress events and the final result."""

    def __init__(self, ctx: RunContext, *, on_progress: ProgressCallback | None) -> None:
        self.ctx = ctx
        self._on_progress = on_progress
        self._timings: list[StageTiming] = []

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
    async def stage(self, name: str) -> AsyncIterator[None]:
        """Time a stage and attribute its calls, executions and tokens to it."""
        self.emit(name, "started")
        budget = self.ctx.budget
        before = budget.snapshot()
        try:
            yield
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
        )
