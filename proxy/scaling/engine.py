"""The S* engine: sample → debug → synthesize inputs, execute, cluster, judge → answer.

``ScalingEngine.run`` only sequences the stages (each a function in its own module) and builds the
result; it reads like the paper's figure. Every upstream call and sandbox run goes through one
``RunBudget`` (deadline, token cap, usage and call counts) and one ``Executor`` (limits, caching,
sandbox faults as data). The initial input synthesis needs only the problem, so it runs alongside
sampling and debugging; its call and tokens count in whichever stage was running when it ended.

Failure policy: caps and faults degrade the run (fewer candidates, cheaper selection) and are
listed in ``ScalingResult.degraded``; the run still answers. It raises only when nothing at all
was produced: the upstream's own ``UpstreamError`` if every sampling call failed with one,
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

from proxy.errors import ScalingBudgetExceededError
from proxy.scaling.budget import RunBudget
from proxy.scaling.code import fence, replace_program, strip_reasoning
from proxy.scaling.debugging import debug_candidates
from proxy.scaling.execution import Executor
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
from sandbox import Sandbox

DEBUG_SHARE = 0.6  # of the time left after sampling; selection keeps the rest


class ScalingEngine:
    """Runs S* for code tasks against one upstream and one sandbox (both shared across runs)."""

    def __init__(self, upstream: Upstream, sandbox: Sandbox) -> None:
        self._upstream = upstream
        self._sandbox = sandbox

    async def run(
        self,
        task: CodeTask,
        params: ScalingParams,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> ScalingResult:
        """One S* run; see the module docstring for what raises and what degrades."""
        run = _Run(task, params, on_progress, budget=RunBudget(params))
        synthesis: asyncio.Task[tuple[str, ...]] | None = None
        if params.selection in ("adaptive", "majority"):
            # NOTE: initial inputs need only the problem, so they are asked for while sampling and
            # debugging run: one call off the critical path. Wasted only if all programs agree.
            synthesis = asyncio.create_task(
                synthesize_inputs(run.budget, self._upstream, task=task, params=params)
            )
        try:
            return await self._run(run, synthesis)
        finally:
            if synthesis is not None and not synthesis.done():
                synthesis.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await synthesis

    async def _run(
        self, run: _Run, synthesis: asyncio.Task[tuple[str, ...]] | None
    ) -> ScalingResult:
        task, params = run.task, run.params
        executor = Executor(self._sandbox, run.budget, task=task, params=params)
        async with run.stage("sample"):
            sampled = await sample_candidates(run.budget, self._upstream, task=task, params=params)
        candidates = sampled.candidates
        run.emit("sample", f"{len(candidates)} candidate(s) sampled")
        if not candidates:
            if sampled.error is not None:
                raise sampled.error
            raise ScalingBudgetExceededError(
                f"S* produced no candidate: {', '.join(run.budget.degraded) or 'no samples'}"
            )
        if all(c.dropped_reason is not None for c in candidates):
            return run.result_without_code(candidates)

        async with run.stage("debug"):
            candidates = await debug_candidates(
                run.budget,
                self._upstream,
                executor,
                task=task,
                params=params,
                candidates=candidates,
                deadline=run.budget.stage_deadline(DEBUG_SHARE),
            )
        passing = sum(1 for c in candidates if c.best.tests and all(t.passed for t in c.best.tests))
        run.emit("debug", f"{passing} candidate(s) pass every public test")

        async with run.stage("select"):
            selection = await select_candidate(
                run.budget,
                self._upstream,
                executor,
                task=task,
                params=params,
                candidates=candidates,
                synthesis=synthesis,
            )
        run.emit("select", f"selected candidate {selection.selected}")
        return run.result(candidates, selection)


class _Run:
    """Per-run bookkeeping: stage timings, progress events and the final result."""

    def __init__(
        self,
        task: CodeTask,
        params: ScalingParams,
        on_progress: ProgressCallback | None,
        *,
        budget: RunBudget,
    ) -> None:
        self.task = task
        self.params = params
        self.budget = budget
        self._on_progress = on_progress
        self._timings: list[StageTiming] = []

    def emit(self, stage: str, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(ProgressEvent(stage, message))

    @asynccontextmanager
    async def stage(self, name: str) -> AsyncIterator[None]:
        """Time a stage and attribute its calls, executions and tokens to it."""
        self.emit(name, "started")
        before = self.budget.snapshot()
        try:
            yield
        finally:
            after = self.budget.snapshot()
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
        entry_point = self.task.signature.entry_point if self.task.signature else None
        message = (
            fence(program)
            if self.params.output == "code"
            else replace_program(chosen.revisions[0].message, program, entry_point=entry_point)
        )
        return self._build(candidates, selection, program=program, message=message)

    def result_without_code(self, candidates: tuple[Candidate, ...]) -> ScalingResult:
        self.budget.degrade("no sample contained code: answering with the first sample as is")
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
        return ScalingResult(
            program=program,
            message=message,
            usage=self.budget.usage,
            upstream_calls=self.budget.calls,
            executions=self.budget.executions,
            selection=self.params.selection,
            selected=selection.selected,
            candidates=candidates,
            clusters=selection.clusters,
            matches=selection.matches,
            synthesized_inputs=selection.synthesized_inputs,
            timings=tuple(self._timings),
            degraded=self.budget.degraded,
            reasons=selection.reasons,
        )
