"""S* stage 1: parallel sampling of N candidate programs.

Inputs: the run context (the client's conversation in ``task``; ``params.samples`` (N),
``temperature``, ``max_tokens_per_call``, ``seed``, ``sampling_extra``). Outputs: up to N
``Candidate`` values with one revision each (round 0); answers without code are kept as dropped
candidates with the reason.

One call with ``n=N`` (vLLM honours it and shares the prompt's prefix cache; a hosted API bills
the prompt once), then the shortfall made up with concurrent ``n=1`` calls, so sampling costs
about one generation whatever N is. Only choices that a successful answer lacked are made up
(servers that ignore ``n``); a failed call is never asked again here (``RunContext.call`` has
retried it, and its failure opened the run's breaker). Upstream failures shrink N instead of
failing the run; the engine raises only when nothing at all came back.

An ``n=N`` call's choices arrive together, so it can only be waited for. With
``params.one_sample_per_call`` (llama.cpp, which batches concurrent calls anyway) the N samples
are N concurrent calls, and sampling stops at its share of the deadline with the samples already
finished, leaving time to debug and select; with none finished it waits on.

With ``params.greedy_sample`` the first candidate is sampled at temperature 0: the model's most
likely answer (a plain call's, but for the format instruction) is always in the pool, and as the
lowest index it wins selection's ties.
"""

from __future__ import annotations

import asyncio
import dataclasses

from proxy.scaling.budget import SAMPLING_SHARE
from proxy.scaling.context import RunContext
from proxy.scaling.programs import extract_program
from proxy.scaling.prompts.sampling import sampling_messages
from proxy.scaling.types import Candidate, Revision
from proxy.upstream.base import UpstreamRequest

MAKEUP_ROUNDS = 2
"""Rounds of ``n=1`` calls that make up the samples an upstream did not return."""


async def sample_candidates(ctx: RunContext) -> tuple[Candidate, ...]:
    """Sample ``params.samples`` candidates concurrently and extract their programs."""
    params = ctx.params
    base = UpstreamRequest(
        model=ctx.task.model,
        messages=sampling_messages(ctx.task),
        n=params.samples,
        temperature=params.temperature,
        max_tokens=params.max_tokens_per_call,
        seed=params.seed,
        extra=params.sampling_extra,
        purpose="sample",
    )
    stopped = False
    if params.one_sample_per_call:
        texts, shortfall, stopped = await _separately(ctx, base)
    else:
        requests = [base]
        if params.greedy_sample:
            requests = [_greedy(base)]
            if params.samples > 1:
                requests.append(dataclasses.replace(base, n=params.samples - 1))
        texts, shortfall = await _concurrently(ctx, requests)
    for round_ in range(MAKEUP_ROUNDS):
        missing = min(shortfall, params.samples - len(texts))
        if missing <= 0 or stopped or ctx.budget.exhausted() is not None:
            break
        ctx.budget.degrade(
            f"upstream returned {len(texts)} of {params.samples} samples; asked again"
        )
        offset = (round_ + 1) * params.samples
        more, shortfall = await _concurrently(
            ctx,
            [dataclasses.replace(base, n=1, seed=ctx.seed(offset + i)) for i in range(missing)],
        )
        texts += more
    if len(texts) < params.samples:
        ctx.budget.degrade(f"sampled {len(texts)} of {params.samples} candidates")
    return tuple(
        _candidate(index, text, entry_point=ctx.entry_point)
        for index, text in enumerate(texts[: params.samples])
    )


async def _concurrently(ctx: RunContext, requests: list[UpstreamRequest]) -> tuple[list[str], int]:
    """The choice texts of ``requests``, made concurrently, in request order, and how many
    choices their successful answers lacked."""
    if len(requests) == 1:
        # NOTE: no task: the call starts before any other
        return _gathered(requests, [await _texts(ctx, requests[0])])
    async with asyncio.TaskGroup() as group:
        calls = [group.create_task(_texts(ctx, r)) for r in requests]
    return _gathered(requests, [call.result() for call in calls])


def _gathered(
    requests: list[UpstreamRequest], answers: list[list[str] | None]
) -> tuple[list[str], int]:
    """The texts of the answers (``None``: the call failed) and the successful ones' shortfall."""
    texts = [text for answer in answers for text in answer or ()]
    shortfall = sum(
        r.n - len(answer) for r, answer in zip(requests, answers, strict=True) if answer is not None
    )
    return texts, shortfall


async def _separately(ctx: RunContext, base: UpstreamRequest) -> tuple[list[str], int, bool]:
    """N concurrent ``n=1`` calls; at the sampling share of the deadline keep the finished ones
    if there are any. Returns the samples, the successful answers' shortfall, and whether calls
    still running were stopped."""
    samples = ctx.params.samples
    requests = [dataclasses.replace(base, n=1, seed=ctx.seed(i)) for i in range(samples)]
    if ctx.params.greedy_sample:
        requests[0] = _greedy(base)
    calls = [asyncio.create_task(_texts(ctx, r)) for r in requests]
    deadline = ctx.budget.stage_deadline(SAMPLING_SHARE)
    stopped = False
    try:
        done, pending = await asyncio.wait(calls, timeout=max(0.0, deadline - ctx.budget.now()))
        if pending and not any(call.result() for call in done):
            await asyncio.wait(pending)  # nothing to work with yet: wait on (run deadline)
        elif pending:
            stopped = True
            finished = sum(len(call.result() or ()) for call in done)
            ctx.budget.degrade(
                f"sampling stopped at its share of the deadline with {finished} of "
                f"{samples} samples finished"
            )
    finally:
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
    ended = [(r, call.result()) for r, call in zip(requests, calls, strict=True) if _ended(call)]
    texts, shortfall = _gathered([r for r, _ in ended], [answer for _, answer in ended])
    return texts, shortfall, stopped


def _ended(call: asyncio.Task[list[str] | None]) -> bool:
    return call.done() and not call.cancelled()


def _greedy(base: UpstreamRequest) -> UpstreamRequest:
    """The temperature-0 sampling call: the model's most likely answer."""
    return dataclasses.replace(base, n=1, temperature=0.0)


async def _texts(ctx: RunContext, request: UpstreamRequest) -> list[str] | None:
    """The choice texts of one call, ``None`` when it failed (or could not be made)."""
    response = await ctx.call(request)
    return None if response is None else [c.text for c in response.choices[: request.n]]


def _candidate(index: int, text: str, *, entry_point: str | None) -> Candidate:
    found = extract_program(text, entry_point=entry_point)
    if found is None:
        return Candidate(index, (Revision(0, "", text),), 0, dropped_reason="no code in the answer")
    return Candidate(index, (Revision(0, found.program, text),), 0)
