"""The executor's fault handling and run descriptions (real execution: integration tests)."""

from __future__ import annotations

from proxy.scaling.budget import RunBudget
from proxy.scaling.execution import Executor, describe_run
from proxy.scaling.types import CodeTask, PublicTest, ScalingParams
from sandbox import ExecutionRequest, ExecutionResult, RunResult, SandboxCrashedError, Status


class BrokenSandbox:
    """A sandbox whose infrastructure fails on every request."""

    def __init__(self) -> None:
        self.requests: list[ExecutionRequest] = []

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        self.requests.append(request)
        raise SandboxCrashedError("launcher died")

    async def aclose(self) -> None:
        return None


TASK = CodeTask(problem="p", conversation=(), kind="stdin", model="m")


async def test_sandbox_faults_become_data_and_a_note() -> None:
    params = ScalingParams()
    budget = RunBudget(params)
    sandbox = BrokenSandbox()
    executor = Executor(sandbox, budget, task=TASK, params=params)
    outcomes = await executor.run_tests("print(1)", (PublicTest("1\n", "1"),))
    assert outcomes[0].status == "SANDBOX_ERROR"
    assert not outcomes[0].passed
    assert any("launcher died" in d for d in budget.degraded)
    # memoised: the same program and input are not sent again (layout differences included)
    await executor.run("print( 1 )", ("1\n",))
    assert len(sandbox.requests) == 1
    assert budget.executions == 1


def test_describe_run() -> None:
    assert describe_run(RunResult(Status.OK, stdout="5\n"), "stdin") == "5\n"
    assert describe_run(RunResult(Status.OK, return_json="[1]"), "function") == "[1]"
    crashed = RunResult(Status.RUNTIME_ERROR, stdout="partial", error="ValueError: x")
    assert describe_run(crashed, "stdin") == (
        "RUNTIME_ERROR\nValueError: x\nstdout before the failure:\npartial"
    )
    flood = describe_run(RunResult(Status.OK, stdout="x", truncated=True), "stdin")
    assert flood.startswith("OUTPUT_LIMIT\n")


async def test_function_task_without_signature_runs_nothing() -> None:
    params = ScalingParams()
    budget = RunBudget(params)
    sandbox = BrokenSandbox()
    task = CodeTask(problem="p", conversation=(), kind="function", model="m")
    runs = await Executor(sandbox, budget, task=task, params=params).run("def f(): pass", ("[]",))
    assert runs[0].status is Status.SANDBOX_ERROR
    assert sandbox.requests == []
