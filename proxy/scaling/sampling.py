"""S* stage 1: parallel sampling of N candidate programs.

Inputs: the task (the client's conversation), ``ScalingParams.samples`` (N), ``temperature``,
``max_tokens_per_call``, ``seed`` and ``sampling_extra``. Outputs: N ``Candidate`` values with
one revision each (round 0); answers without code are kept as dropped candidates with the reason.

One call with ``n=N`` (vLLM honours it and shares the prompt's prefix cache; a hosted API bills
the prompt once), then the shortfall made up with concurrent ``n=1`` calls, so sampling costs
about one generation whatever N is. Upstream failures shrink N instead of failing the run; the
engine raises only when nothing at all came back.

An ``n=N`` call's choices arrive together, so it can only be waited for. With
``ScalingParams.one_sample_per_call`` (llama.cpp, which batches concurrent calls anyway) the N
samples are N concurrent calls, and sampling stops at its share of the deadline with the samples
already finished, leaving time to debug and select; with none finished it waits on.

With ``ScalingParams.greedy_sample`` the first candidate is sampled at temperature 0: the model's
most likely answer (a plain call's, but for the format instruction) is always in the pool, and as
the lowest index it wins selection's ties. On the dev split, a small model's greedy answer is
sometimes right where every sample at 0.7 is wrong (``python -m bench.selection_replay``
measures the effect on recorded runs).
"""

from __future__ import annotations

import asyncio
import dataclasses

from proxy.errors import UpstreamError
from proxy.scaling.budget import BudgetExhaustedError, RunBudget
from proxy.scaling.code import extract_program
from proxy.scaling.prompts import SAMPLE_FORMAT_FUNCTION, SAMPLE_FORMAT_STDIN, STARTER_NOTE
from proxy.scaling.types import Candidate, CodeTask, Revision, ScalingParams, Signature
from proxy.upstream.base import Message, Upstream, UpstreamRequest

MAKEUP_ROUNDS = 2


@dataclasses.dataclass(frozen=True, slots=True)
class SamplingOutcome:
    """What sampling produced and the last upstream error, if every call failed."""

    candidates: tuple[Candidate, ...]
    error: UpstreamError | None = None


def format_instruction(task: CodeTask) -> str:
    """The output-format instruction appended to the client's request."""
    if task.kind == "stdin" or task.signature is None:
        return SAMPLE_FORMAT_STDIN
    starter = task.signature.starter_code
    note = STARTER_NOTE.format(starter=starter.strip()) if starter else ""
    return SAMPLE_FORMAT_FUNCTION.format(
        signature=render_signature(task.signature), starter_note=note
    )


def render_signature(signature: Signature) -> str:
    """``name(a, b)``, or ``Solution.name(self, a, b)`` for a class method."""
    params = ", ".join(signature.params)
    if signature.class_name is None:
        return f"{signature.name}({params})"
    if not signature.params or signature.params[0] != "self":
        params = ", ".join(("self", *signature.params))
    return f"{signature.class_name}.{signature.name}({params})"


def sampling_messages(task: CodeTask) -> tuple[Message, ...]:
    """The client's conversation with the format instruction appended to its last user turn."""
    instruction = format_instruction(task)
    conversation = list(task.conversation) or [Message("user", task.problem)]
    last = conversation[-1]
    if last.role == "user":
        conversation[-1] = Message("user", f"{last.content.rstrip()}\n\n{instruction}")
    else:
        conversation.append(Message("user", instruction))
    return tuple(conversation)


async def sample_candidates(
    budget: RunBudget,
    upstream: Upstream,
    *,
    task: CodeTask,
    params: ScalingParams,
    deadline: float | None = None,
) -> SamplingOutcome:
    """Sample ``params.samples`` candidates concurrently and extract their programs.

    ``deadline`` (loop time) is when separate sampling calls stop being waited for, once at
    least one sample is in; ``None`` waits for every call (within the run's deadline).
    """
    base = UpstreamRequest(
        model=task.model,
        messages=sampling_messages(task),
        n=params.samples,
        temperature=params.temperature,
        max_tokens=params.max_tokens_per_call,
        seed=params.seed,
        extra=params.sampling_extra,
        purpose="sample",
    )
    errors: list[UpstreamError] = []
    stopped = False
    if params.one_sample_per_call:
        texts, stopped = await _separately(
            budget, upstream, base=base, params=params, errors=errors, deadline=deadline
        )
    elif params.greedy_sample:
        requests = [_greedy(base)]
        if params.samples > 1:
            requests.append(dataclasses.replace(base, n=params.samples - 1))
        async with asyncio.TaskGroup() as group:
            calls = [
                group.create_task(_call(budget, upstream, request=r, errors=errors))
                for r in requests
            ]
        texts = [text for call in calls for text in call.result()]
    else:
        texts = await _call(budget, upstream, request=base, errors=errors)
    for round_ in range(MAKEUP_ROUNDS):
        missing = params.samples - len(texts)
        if missing <= 0 or stopped or budget.exhausted() is not None:
            break
        budget.degrade(f"upstream returned {len(texts)} of {params.samples} samples; asked again")
        requests = [
            dataclasses.replace(base, n=1, seed=_seed(params, (round_ + 1) * params.samples + i))
            for i in range(missing)
        ]
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(_call(budget, upstream, request=r, errors=errors))
                for r in requests
            ]
        texts.extend(text for task_ in tasks for text in task_.result())
    if len(texts) < params.samples:
        budget.degrade(f"sampled {len(texts)} of {params.samples} candidates")
    entry_point = task.signature.entry_point if task.signature is not None else None
    candidates = tuple(
        _candidate(index, text, entry_point=entry_point)
        for index, text in enumerate(texts[: params.samples])
    )
    return SamplingOutcome(candidates, errors[-1] if errors and not texts else None)


async def _separately(
    budget: RunBudget,
    upstream: Upstream,
    *,
    base: UpstreamRequest,
    params: ScalingParams,
    errors: list[UpstreamError],
    deadline: float | None,
) -> tuple[list[str], bool]:
    """N concurrent ``n=1`` calls; at ``deadline`` keep the finished ones if there are any.

    Returns the samples and whether calls still running were stopped at ``deadline``.
    """
    requests = [
        dataclasses.replace(base, n=1, seed=_seed(params, i)) for i in range(params.samples)
    ]
    if params.greedy_sample:
        requests[0] = _greedy(base)
    calls = [
        asyncio.create_task(_call(budget, upstream, request=r, errors=errors)) for r in requests
    ]
    stopped = False
    try:
        timeout = None if deadline is None else max(0.0, deadline - budget.now())
        done, pending = await asyncio.wait(calls, timeout=timeout)
        if pending and not any(call.result() for call in done):
            await asyncio.wait(pending)  # nothing to work with yet: wait on (run deadline)
        elif pending:
            stopped = True
            finished = sum(len(call.result()) for call in done)
            budget.degrade(
                f"sampling stopped at its share of the deadline with {finished} of "
                f"{params.samples} samples finished"
            )
    finally:
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
    texts = [text for call in calls if not call.cancelled() for text in call.result()]
    return texts, stopped


def _greedy(base: UpstreamRequest) -> UpstreamRequest:
    """The temperature-0 sampling call: the model's most likely answer."""
    return dataclasses.replace(base, n=1, temperature=0.0)


def _seed(params: ScalingParams, offset: int) -> int | None:
    return None if params.seed is None else params.seed + offset


async def _call(
    budget: RunBudget, upstream: Upstream, *, request: UpstreamRequest, errors: list[UpstreamError]
) -> list[str]:
    try:
        response = await budget.complete(upstream, request)
    except UpstreamError as exc:
        errors.append(exc)
        budget.degrade(f"a sampling call failed: {type(exc).__name__}: {exc.message[:200]}")
        return []
    except BudgetExhaustedError as exc:
        budget.degrade(f"sampling stopped: {exc.reason}")
        return []
    return [choice.text for choice in response.choices[: request.n]]


def _candidate(index: int, text: str, *, entry_point: str | None) -> Candidate:
    found = extract_program(text, entry_point=entry_point)
    if found is None:
        return Candidate(index, (Revision(0, "", text),), 0, dropped_reason="no code in the answer")
    return Candidate(index, (Revision(0, found.program, text),), 0)
