"""The run's budget and ledger: every upstream call and sandbox run of an S* run goes through here.

One object per run enforces the caps in ``ScalingParams`` (wall deadline, total tokens) and
records what the result must report: usage summed over every call (and per purpose), call and
execution counts (every attempt is a call), the last upstream error, and what degraded and why.
It also holds the run's ``Breaker`` (``breaker.py``), which stops sub-calls once the upstream
refuses or fails. Stages reach the seams
through ``RunContext`` (``context.py``), which calls :meth:`RunBudget.complete` and
:meth:`RunBudget.execute`, so no call can outlive the deadline and none is left uncounted.

A cap is not an error for the client: it raises ``BudgetExhaustedError`` (internal, never leaves
the engine), the stage stops and keeps what it has, and selection works from that. Cancellation
(``asyncio.CancelledError``) is never caught here: it stops everything in flight.

How long sampling and debugging may take is the run's plan (``planning.py``); within the
selection stage, its steps share the time left as decided here, in one place.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from dataclasses import dataclass

from proxy.errors import BudgetExhaustedError, UpstreamError, UpstreamTimeoutError
from proxy.scaling.breaker import Breaker
from proxy.scaling.speed import SpeedTracker
from proxy.scaling.types import ScalingParams
from proxy.upstream.base import Purpose, Upstream, UpstreamRequest, UpstreamResponse, Usage
from sandbox import ExecutionRequest, ExecutionResult, Sandbox

INPUTS_SHARE = 0.5
"""Selection: waiting for the synthesized inputs and running every program on them."""
TOURNAMENT_SHARE = 0.95
"""The tournament; the rest is kept to assemble the answer."""
_TIMER_SLACK_S = 0.05
"""An upstream timeout this close to the deadline is the deadline's."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counters at one moment, to attribute calls and tokens to a stage."""

    at: float
    calls: int
    executions: int
    usage: Usage


class RunBudget:
    """Caps, counters and degradation notes of one S* run. Create it inside the running loop.

    ``speed`` (shared by the engine's runs) learns from every call's duration and size, and
    from every program written in full what it added to the task's ``starter_tokens``.
    """

    def __init__(
        self,
        params: ScalingParams,
        *,
        speed: SpeedTracker | None = None,
        starter_tokens: float = 0.0,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self.speed = speed
        self.starter_tokens = starter_tokens
        self.started = self._loop.time()
        self.deadline = self.started + params.deadline_s
        self.max_total_tokens = params.max_total_tokens
        self.usage = Usage()
        self.usage_by_purpose: dict[Purpose, Usage] = {}
        self.calls = 0
        self.executions = 0
        self.upstream_errors: dict[Purpose, UpstreamError] = {}  # the last, per purpose
        self.breaker = Breaker()
        self._degraded: list[str] = []

    # -- time and tokens ------------------------------------------------------------------------

    def now(self) -> float:
        return self._loop.time()

    def elapsed_ms(self) -> float:
        return round((self.now() - self.started) * 1000, 3)

    def remaining_s(self) -> float:
        return max(0.0, self.deadline - self.now())

    def stage_deadline(self, share: float) -> float:
        """An absolute deadline giving the next stage ``share`` of the time that is left."""
        return self.now() + self.remaining_s() * share

    def tokens_left(self) -> int | None:
        if self.max_total_tokens is None:
            return None
        return max(0, self.max_total_tokens - self.usage.total_tokens)

    def exhausted(self) -> str | None:
        """Why no further work may start, or ``None``."""
        if self.remaining_s() <= 0:
            return "deadline reached"
        tokens = self.tokens_left()
        if tokens is not None and tokens <= 0:
            return "token budget spent"
        return None

    # -- notes ----------------------------------------------------------------------------------

    def degrade(self, reason: str) -> None:
        """Record that something was cut short or fell back (once per distinct reason)."""
        if reason not in self._degraded:
            self._degraded.append(reason)

    @property
    def degraded(self) -> tuple[str, ...]:
        return tuple(self._degraded)

    def snapshot(self) -> Snapshot:
        return Snapshot(self.now(), self.calls, self.executions, self.usage)

    # -- the two seams --------------------------------------------------------------------------

    async def complete(self, upstream: Upstream, request: UpstreamRequest) -> UpstreamResponse:
        """One upstream call within the deadline and token budget; usage is always counted.

        Raises ``BudgetExhaustedError`` when a cap forbids or interrupts the call, and lets
        ``proxy.errors.UpstreamError`` through for the stage to degrade on.
        """
        reason = self.exhausted()
        if reason is not None:
            raise BudgetExhaustedError(reason)
        remaining = self.remaining_s()
        timeout = min(remaining, request.timeout_s or math.inf)
        changes: dict[str, object] = {"timeout_s": timeout}
        tokens = self.tokens_left()
        if tokens is not None and request.max_tokens is not None and tokens < request.max_tokens:
            # NOTE: a call may still overshoot by its prompt; the next call then stops.
            changes["max_tokens"] = max(1, tokens // max(1, request.n))
        sized = dataclasses.replace(request, **changes)  # type: ignore[arg-type]
        self.calls += 1
        started = self.now()
        concurrency = self.speed.started(request.model) if self.speed is not None else 1
        try:
            async with asyncio.timeout(remaining):
                response = await upstream.complete(sized)
        except BaseException as exc:
            if self.speed is not None:
                self.speed.aborted(request.model)
            if isinstance(exc, TimeoutError):
                raise BudgetExhaustedError("deadline reached during an upstream call") from exc
            if isinstance(exc, UpstreamTimeoutError) and self.remaining_s() <= _TIMER_SLACK_S:
                # NOTE: the upstream's own timer (set to the time left) won the race with ours:
                # the deadline ended the call, as above, so the run degrades rather than fails.
                raise BudgetExhaustedError("deadline reached during an upstream call") from exc
            raise
        if self.speed is not None:
            self.speed.finished(
                request.model,
                concurrency=concurrency,
                prompt_tokens=response.usage.prompt_tokens,
                completion_tokens=response.usage.completion_tokens,
                seconds=self.now() - started,
                choices=max(1, len(response.choices)),
                sample=request.purpose in ("sample", "debug"),
                starter_tokens=self.starter_tokens,
            )
        self.usage = self.usage + response.usage
        spent = self.usage_by_purpose.get(request.purpose, Usage())
        self.usage_by_purpose[request.purpose] = spent + response.usage
        return response

    async def execute(self, sandbox: Sandbox, request: ExecutionRequest) -> ExecutionResult:
        """One sandbox request within the deadline; every input counts as one execution."""
        if self.remaining_s() <= 0:
            raise BudgetExhaustedError("deadline reached")
        self.executions += len(request.inputs)
        try:
            async with asyncio.timeout(self.remaining_s()):
                return await sandbox.run(request)
        except TimeoutError as exc:
            raise BudgetExhaustedError("deadline reached during execution") from exc
