"""Test doubles for the engine's seams.

``ScriptedUpstream`` is a function-backed ``Upstream`` (like httpx's mock transport): a plain
function ``(UpstreamRequest) -> list[str]`` supplies the choice texts, so a test can say "three
samples, one correct; synthesis proposes input 5; the judge prefers B" (a ``Choice`` instead of
a text also carries ``top_logprobs``). It only ever supplies model *text*; everything executed
runs in the real sandbox. It records every request, counts usage (about four characters per
token), can add a delay per call, per purpose or computed from the request (latency benchmarks,
deadlines), can ignore ``n`` like providers that return one choice, and lets a script raise
``UpstreamError`` to simulate outages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from proxy.scaling.budget import RunBudget
from proxy.scaling.context import RunContext
from proxy.scaling.execution import Executor
from proxy.scaling.types import CodeTask, ScalingParams, Signature
from proxy.tasking.examples import extract_public_tests
from proxy.upstream.base import (
    Choice,
    Message,
    Upstream,
    UpstreamRequest,
    UpstreamResponse,
    Usage,
)
from sandbox import ExecutionRequest, ExecutionResult, Sandbox, SandboxUnavailableError

Script = Callable[[UpstreamRequest], "list[str] | list[Choice]"]


def function_task(problem: str, entry_point: str, params: tuple[str, ...]) -> CodeTask:
    """A function task as the proxy builds it from ``problem``: doctest examples as tests."""
    signature = Signature(entry_point, params)
    return CodeTask(
        problem=problem,
        conversation=(Message("user", problem),),
        kind="function",
        model="coder",
        signature=signature,
        public_tests=extract_public_tests(problem, kind="function", signature=signature),
    )


def tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: one token per four characters, at least one."""
    return max(1, len(text) // 4)


@dataclass
class ScriptedUpstream:
    """An ``Upstream`` whose replies come from ``script``; see the module docstring."""

    script: Script
    delay_s: float = 0.0
    purpose_delays: dict[str, float] = field(default_factory=dict)
    delay_by: Callable[[UpstreamRequest], float] | None = None  # per call; beats the above
    max_choices: int | None = None
    requests: list[UpstreamRequest] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    usage_by_purpose: dict[str, Usage] = field(default_factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        self.requests.append(request)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            delay = self.purpose_delays.get(request.purpose, self.delay_s)
            if self.delay_by is not None:
                delay = self.delay_by(request)
            if delay:
                await asyncio.sleep(delay)
            texts = self.script(request)
        finally:
            self.in_flight -= 1
        limit = request.n if self.max_choices is None else min(request.n, self.max_choices)
        choices = [t if isinstance(t, Choice) else Choice(t) for t in texts[:limit]]
        prompt = sum(tokens(m.content) for m in request.messages)
        usage = Usage(prompt, sum(tokens(c.text) for c in choices))
        self.usage = self.usage + usage
        spent = self.usage_by_purpose.get(request.purpose, Usage())
        self.usage_by_purpose[request.purpose] = spent + usage
        return UpstreamResponse(tuple(choices), usage, request.model)

    def by_purpose(self, purpose: str) -> list[UpstreamRequest]:
        """The recorded requests with this purpose label."""
        return [r for r in self.requests if r.purpose == purpose]


class RefusingSandbox:
    """A sandbox for stage tests that must not execute anything: it says so if asked."""

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        raise SandboxUnavailableError(f"this test executes nothing ({request.mode} run asked)")

    async def aclose(self) -> None:
        return None


def one_call_params(**knobs: object) -> ScalingParams:
    """Parameters for scripted scenarios that answer samples by their index in one ``n=N``
    call: the greedy first sample, a call of its own, is off."""
    return ScalingParams(greedy_sample=False, **knobs)  # type: ignore[arg-type]


def run_context(
    upstream: Upstream,
    task: CodeTask,
    params: ScalingParams | None = None,
    *,
    sandbox: Sandbox | None = None,
) -> RunContext:
    """One run's context for testing a stage on its own (call inside the running loop: the
    budget's deadline starts now). Without ``sandbox`` nothing may execute."""
    params = params if params is not None else ScalingParams()
    budget = RunBudget(params)
    executor = Executor(sandbox or RefusingSandbox(), budget, task=task, params=params)
    return RunContext(budget, upstream, executor, task, params)
