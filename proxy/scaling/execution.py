"""Running candidate programs in the sandbox, for every stage that needs real behaviour.

Debugging runs public tests (judged against expected outputs with ``sandbox.compare.judge``);
selection runs synthesized and distinguishing inputs (no expected outputs: behaviour only). Both
go through one :class:`Executor` per run, which applies the run's limits and deadline, bounds
sandbox concurrency with one semaphore, memoises (program, input) → result so no program meets
the same input twice (runs in flight are shared), and turns sandbox infrastructure failures into
``SANDBOX_ERROR`` runs plus a degradation note: a broken sandbox makes selection cheaper, never
fails the run.
"""

from __future__ import annotations

import asyncio

from proxy.errors import BudgetExhaustedError
from proxy.scaling.budget import RunBudget
from proxy.scaling.programs import normalise_program
from proxy.scaling.prompts import clip
from proxy.scaling.types import CodeTask, PublicTest, ScalingParams, TestOutcome
from sandbox import (
    ExecutionRequest,
    Limits,
    RunResult,
    Sandbox,
    SandboxError,
    Status,
    behaviour_key,
    judge,
)

MAX_CONCURRENT_RUNS = 8
_OUTPUT_CLIP = 2000


class Executor:
    """Runs programs of one task on batches of inputs, within one run's budget."""

    def __init__(
        self,
        sandbox: Sandbox,
        budget: RunBudget,
        *,
        task: CodeTask,
        params: ScalingParams,
    ) -> None:
        self._sandbox = sandbox
        self._budget = budget
        self._task = task
        self._limits = Limits(
            wall_time_s=params.exec_wall_time_s,
            cpu_time_s=params.exec_wall_time_s,
            memory_mb=params.exec_memory_mb,
        )
        self._gate = asyncio.Semaphore(MAX_CONCURRENT_RUNS)
        self._results: dict[tuple[str, str], asyncio.Future[RunResult]] = {}

    @property
    def mode(self) -> str:
        return self._task.kind

    async def run(self, program: str, inputs: tuple[str, ...]) -> tuple[RunResult, ...]:
        """The program's results on ``inputs``, in order.

        Results are memoised per (normalised program, input): samples that differ only in
        comments or layout run once. A run already in flight is awaited rather than repeated, so
        concurrent tournament games share their representatives' executions.
        """
        key = normalise_program(program)
        mine = [i for i in dict.fromkeys(inputs) if (key, i) not in self._results]
        if mine:
            loop = asyncio.get_running_loop()
            futures = {i: loop.create_future() for i in mine}
            self._results.update({(key, i): f for i, f in futures.items()})
            try:
                runs = await self._run_uncached(program, tuple(mine))
            except BaseException as exc:
                self._abandon(key, futures=futures, exc=exc)
                raise
            for given, run in zip(mine, runs, strict=True):
                futures[given].set_result(run)
        return tuple([await self._results[(key, i)] for i in inputs])

    def _abandon(
        self, program: str, *, futures: dict[str, asyncio.Future[RunResult]], exc: BaseException
    ) -> None:
        """Forget runs that did not finish so that waiters fail the same way and nothing leaks."""
        reason = exc.reason if isinstance(exc, BudgetExhaustedError) else "execution abandoned"
        for given, future in futures.items():
            del self._results[(program, given)]
            future.set_exception(BudgetExhaustedError(reason))
            future.exception()  # NOTE: mark retrieved; waiters (if any) still receive it

    async def _run_uncached(self, program: str, inputs: tuple[str, ...]) -> tuple[RunResult, ...]:
        signature = self._task.signature
        if self._task.kind == "function" and signature is None:
            self._budget.degrade("function task without a signature: nothing to call")
            return tuple(RunResult(Status.SANDBOX_ERROR, error="no entry point") for _ in inputs)
        request = ExecutionRequest(
            program=program,
            inputs=inputs,
            mode=self._task.kind,
            entry_point=signature.entry_point if signature is not None else None,
            limits=self._limits,
        )
        try:
            async with self._gate:
                result = await self._budget.execute(self._sandbox, request)
        except SandboxError as exc:
            self._budget.degrade(f"sandbox failed: {type(exc).__name__}: {clip(str(exc), 200)}")
            return tuple(RunResult(Status.SANDBOX_ERROR, error=str(exc)) for _ in inputs)
        runs = result.runs[: len(inputs)]
        padding = (RunResult(Status.SANDBOX_ERROR, error="no result") for _ in inputs[len(runs) :])
        return (*runs, *padding)

    async def run_tests(
        self, program: str, tests: tuple[PublicTest, ...]
    ) -> tuple[TestOutcome, ...]:
        """Judge the program on the public tests."""
        runs = await self.run(program, tuple(t.input for t in tests))
        return tuple(self.outcome(run, test) for run, test in zip(runs, tests, strict=True))

    def outcome(self, run: RunResult, test: PublicTest) -> TestOutcome:
        status = judge(
            run, test.expected, task_mode=self._task.kind, compare_mode=self._task.compare_mode
        )
        return TestOutcome(
            input=test.input,
            expected=test.expected,
            status=str(status),
            actual=describe_run(run, self._task.kind),
            passed=status is Status.OK,
        )

    def key(self, run: RunResult) -> str:
        """The clustering key of a run (SANDBOX.md §5): output, or the bare failure status."""
        return behaviour_key(run, self._task.kind)


def describe_run(run: RunResult, mode: str, *, limit: int = _OUTPUT_CLIP) -> str:
    """What a run produced, as shown to the model (feedback, judge) and in traces."""
    if run.status is Status.OK and not run.truncated:
        shown = (run.return_json or "") if mode == "function" else run.stdout
        return clip(shown, limit)
    detail = run.error or run.stderr[-limit:] or ""
    parts = [str(run.status) if not run.truncated else "OUTPUT_LIMIT"]
    if detail:
        parts.append(clip(detail.strip(), limit))
    if mode == "stdin" and run.stdout:
        parts.append("stdout before the failure:\n" + clip(run.stdout, limit // 2))
    return "\n".join(parts)
