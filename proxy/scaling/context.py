"""What every stage of one S* run works with, in one frozen value, and its one way to call a model.

A stage takes a :class:`RunContext` instead of a list of (budget, upstream, executor, task,
params): the run's caps and ledger, the model, the sandbox runner, the task and the knobs, and
the retry policy. :meth:`RunContext.call` is the only place a sub-call is made, retried
(``proxy.upstream.retry``: at most ``1 + retries`` attempts, waits within the run's deadline)
and a fault turned into a degradation: an ``UpstreamError``, a spent budget or an open breaker
(``breaker.py``) returns ``None`` and leaves a note in the run's ``degraded`` list, so each stage
just goes on with what it has. :meth:`RunContext.ask` is the auxiliary model's call (inputs,
judging): one user prompt in, the reply text out, with the client's sampling fields where they
make sense (not on the judge's verdict; token ids only for the request's own model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from proxy.errors import BudgetExhaustedError, UpstreamError
from proxy.scaling.budget import RunBudget
from proxy.scaling.execution import Executor
from proxy.scaling.prompts import clip
from proxy.scaling.types import CodeTask, ScalingParams
from proxy.upstream.base import Message, Purpose, Upstream, UpstreamRequest, UpstreamResponse
from proxy.upstream.retry import NO_RETRIES, RetryPolicy, call_with_retries

JUDGE_FIELDS = frozenset({"user"})
"""The client's fields a judge call carries: only who the call is for. The judge's verdict is a
measurement of the model's own preference (the scored judge reads its letter probabilities), so
the client's sampling taste must not move it: penalties would push the verdict letter away from
letters the prompt already holds (llama.cpp's repeat penalty counts the prompt), a ``logit_bias``
could weigh exactly the letter tokens, and at temperature 0 ``top_p``/``top_k``/``min_p`` change
nothing."""

TOKENIZER_FIELDS = frozenset({"logit_bias"})
"""Fields that name token ids of the request's model: meaningless for another (auxiliary)
model's tokenizer, so they reach only calls to the request's own model."""

STAGE_OF: dict[Purpose, str] = {
    "sample": "sampling",
    "debug": "debugging",
    "synthesis": "input synthesis",
    "distinguish": "distinguishing inputs",
    "judge": "judging",
}
"""How a degradation note names the stage a call served."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """One run's budget, upstream, executor, task, parameters and retry policy (see the module
    docstring)."""

    budget: RunBudget
    upstream: Upstream
    executor: Executor
    task: CodeTask
    params: ScalingParams
    retry: RetryPolicy = field(default=NO_RETRIES)

    @property
    def entry_point(self) -> str | None:
        """What a function task's program must define (``None`` for stdin programs)."""
        signature = self.task.signature
        return signature.entry_point if signature is not None else None

    def seed(self, offset: int) -> int | None:
        """The run's seed moved by ``offset`` (so that calls differ), or ``None`` without one."""
        return None if self.params.seed is None else self.params.seed + offset

    async def call(self, request: UpstreamRequest) -> UpstreamResponse | None:
        """One sub-call within the run's budget, retried by the policy while the breaker is
        closed; ``None`` (and why, in ``degraded``) when the upstream fails it, a cap forbids it
        or the breaker is open."""
        budget, stage = self.budget, STAGE_OF[request.purpose]
        if budget.breaker.cause is not None:
            failed = _failure(budget.breaker.cause)
            budget.degrade(f"{stage} skipped: the upstream failed earlier in the run ({failed})")
            return None
        try:
            return await call_with_retries(
                self.retry,
                lambda: budget.complete(self.upstream, request),
                deadline=budget.deadline,
                may_retry=budget.breaker.allows_retry,
            )
        except UpstreamError as exc:
            budget.breaker.call_failed(exc)
            budget.upstream_errors[request.purpose] = exc
            budget.degrade(f"{stage}: a call failed ({_failure(exc)})")
        except BudgetExhaustedError as exc:
            budget.degrade(f"{stage} stopped: {exc.reason}")
        return None

    async def ask(
        self,
        prompt: str,
        *,
        purpose: Purpose,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_logprobs: int | None = None,
    ) -> UpstreamResponse | None:
        """One auxiliary-model call (``params.aux_model``, else the task's model) with one user
        prompt; ``None`` when it could not be made. It carries the client's sampling fields
        (``params.sampling_extra``) as a sample does, but a judge call only ``JUDGE_FIELDS``
        and a call to another model no ``TOKENIZER_FIELDS``."""
        params = self.params
        model = params.aux_model or self.task.model
        return await self.call(
            UpstreamRequest(
                model=model,
                messages=(Message("user", prompt),),
                temperature=params.temperature if temperature is None else temperature,
                max_tokens=params.max_tokens_per_call if max_tokens is None else max_tokens,
                seed=params.seed,
                extra=self._aux_extra(purpose, model),
                purpose=purpose,
                top_logprobs=top_logprobs,
            )
        )

    def _aux_extra(self, purpose: Purpose, model: str) -> dict[str, object]:
        """The client's sampling fields an auxiliary call carries (see ``ask``)."""
        extra = self.params.sampling_extra
        if purpose == "judge":
            return {k: v for k, v in extra.items() if k in JUDGE_FIELDS}
        if model != self.task.model:
            return {k: v for k, v in extra.items() if k not in TOKENIZER_FIELDS}
        return dict(extra)


def _failure(exc: UpstreamError) -> str:
    return f"{type(exc).__name__}: {clip(exc.message, 200)}"


def reply_text(response: UpstreamResponse | None) -> str:
    """The first choice's text, ``""`` when there is no response or no choice."""
    return response.choices[0].text if response is not None and response.choices else ""
