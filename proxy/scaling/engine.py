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
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

from proxy.errors import ScalingBudgetExceededError
from proxy.scaling.budget import RunBudget
from proxy.scaling.code import fence, replace_program, strip_reasoning
from proxy.scaling.debugging import debug_candidates
from proxy.scaling.execution import Executor
from proxy.scaling.extraction_fallback import extract_tests_with_model
from proxy.scaling.sampling import sample_candidates
from proxy.scaling.selection import Selection, select_candidate
from proxy.scaling.synthesis import synthesize_inputs
from proxy.scaling.types import (
    Candidate,
    CodeTask,
    ProgressCallback,
    ProgressEvent,
    PublicTest,
    ScalingParams,
    ScalingResult,
    StageTiming,
)
from proxy.upstream.base import Upstream, Usage
from sandbox import Sandbox

log = structlog.get_logger(__name__)

SAMPLE_SHARE = 0.5  # of the deadline, when samples arrive one by one (one_sample_per_call)
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
        run = _Run(task, params=params, on_progress=on_progress, budget=RunBudget(params))
        # NOTE: initial inputs (and, if asked for, the prompt's examples) need only the problem,
        # so they are requested while sampling runs: off the critical path. The synthesis call is
        # wasted only when every program agrees.
        synthesis = examples = None
        if params.selection in ("adaptive", "majority"):
            synthesis = asyncio.create_task(
                synthesize_inputs(run.budget, self._upstream, task=task, params=params)
            )
        if params.extract_tests_with_model and not task.public_tests:
            examples = asyncio.create_task(
                extract_tests_with_model(run.budget, self._upstream, task=task, params=params)
            )
        try:
            return await self._run(run, synthesis=synthesis, examples=examples)
        finally:
            await _cancel(synthesis, examples)

    async def _run(
        self,
        run: _Run,
        *,
        synthesis: asyncio.Task[tuple[str, ...]] | None,
        examples: asyncio.Task[tuple[PublicTest, ...]] | None,
    ) -> ScalingResult:
        params = run.params
        async with run.stage("sample"):
            sampled = await sample_candidates(
                run.budget,
                self._upstream,
                task=run.task,
                params=params,
                deadline=run.budget.stage_deadline(SAMPLE_SHARE),
            )
        candidates = sampled.candidates
        run.note("candidates_sampled", n=len(candidates), with_code=_live(candidates))
        if not candidates:
            if sampled.error is not None:
                raise sampled.error
            raise ScalingBudgetExceededError(
                f"S* produced no candidate: {', '.join(run.budget.degraded) or 'no samples'}"
            )
        if all(c.dropped_reason is not None for c in candidates):
            return run.result_without_code(candidates)
        async with run.stage("debug"):
            if examples is not None:
                await run.adopt_examples(examples)
            task = run.task
            executor = Executor(self._sandbox, run.budget, task=task, params=params)
            candidates = await debug_candidates(
                run.budget,
                self._upstream,
                executor=executor,
                task=task,
                params=params,
                candidates=candidates,
                deadline=run.budget.stage_deadline(DEBUG_SHARE),
            )
        passing = sum(c.passes_public for c in candidates)
        run.note("candidates_debugged", passed_public=passing, tests=len(task.public_tests))

        async with run.stage("select"):
            selection = await select_candidate(
                run.budget,
                self._upstream,
                executor=executor,
                task=task,
                params=params,
                candidates=candidates,
                synthesis=synthesis,
            )
        run.note(
            "selection_done",
            mode=params.selection,
            selected=selection.selected,
            clusters=len(selection.clusters),
            matches=len(selection.matches),
        )
        return run.result(candidates, selection)


async def _cancel(*tasks: asyncio.Task[Any] | None) -> None:
    """Stop side requests the run no longer needs (or that outlived a failure)."""
    for pending in tasks:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending


def _live(candidates: tuple[Candidate, ...]) -> int:
    return sum(c.dropped_reason is None for c in candidates)


class _Run:
    """Per-run bookkeeping: stage timings, progress events and the final result."""

    def __init__(
        self,
        task: CodeTask,
        *,
        params: ScalingParams,
        on_progress: ProgressCallback | None,
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

    async def adopt_examples(self, examples: asyncio.Task[tuple[PublicTest, ...]]) -> None:
        """Use the examples the model listed (checked against the prompt) as public tests."""
        try:
            async with asyncio.timeout_at(self.budget.stage_deadline(0.2)):
                tests = await examples
        except TimeoutError:
            self.budget.degrade("example extraction did not finish in time")
            return
        if tests:
            self.task = dataclasses.replace(self.task, public_tests=tests)
            self.emit("sample", f"{len(tests)} example(s) recovered from the prompt by the model")

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
            mutated_inputs=selection.mutated_inputs,
            timings=tuple(self._timings),
            degraded=self.budget.degraded,
            reasons=selection.reasons,
            public_tests=self.task.public_tests,
            picks=selection.picks,
        )
