"""S* stage 1: parallel sampling of N candidate programs.

Inputs: the run context (the client's conversation in ``task``; ``temperature``,
``max_tokens_per_call``, ``seed``, ``sampling_extra``) and a :class:`Batch` (how many samples the
plan wants, and until when to wait). Outputs: up to N ``Candidate`` values with one revision each
(round 0); answers without code are kept as dropped candidates with the reason. A run samples a
second batch when the first left nothing that passes the examples (``engine.py``).

One call with ``n=N`` (vLLM honours it and shares the prompt's prefix cache; a hosted API bills
the prompt once), then the shortfall made up with concurrent ``n=1`` calls, so sampling costs
about one generation whatever N is. Only choices that a successful answer lacked are made up
(servers that ignore ``n``); a failed call is never asked again here (``RunContext.call`` has
retried it, and its failure opened the run's breaker). Upstream failures shrink N instead of
failing the run; the engine raises only when nothing at all came back.

An ``n=N`` call's choices arrive together, so it can only be waited for. With
``params.one_sample_per_call`` (llama.cpp, which batches concurrent calls anyway) the N samples
are N concurrent calls, and sampling stops at the time the plan gave it with the samples already
finished, leaving time to debug and select; with none finished it waits on.

With ``params.greedy_sample`` the first candidate is sampled at temperature 0: the model's most
likely answer (a plain call's, but for the format instruction) is always in the pool, and as the
lowest index it wins selection's ties.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from proxy.scaling.context import RunContext
from proxy.scaling.programs import extract_program
from proxy.scaling.prompts.sampling import sampling_messages
from proxy.scaling.types import Candidate, Revision
from proxy.upstream.base import UpstreamRequest

MAKEUP_ROUNDS = 2
"""Rounds of ``n=1`` calls that make up the samples an upstream did not return."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One round of sampling: how many samples, their first candidate index, and until when
    (loop time) separate calls are waited for (``None``: the run's deadline). The run's first
    batch starts at index 0 and holds the greedy sample; it is waited for beyond ``wait_until``
    until one sample is in (without one the run has nothing), a later batch is not."""

    samples: int
    first_index: int = 0
    wait_until: float | None = None

    @property
    def first(self) -> bool:
        return self.first_index == 0


async def sample_candidates(ctx: RunContext, batch: Batch) -> tuple[Candidate, ...]:
    """Sample ``batch.samples`` candidates concurrently and extract their programs."""
    params = ctx.params
    wanted = batch.samples
    # NOTE: every batch's calls get their own seeds: a later batch must not repeat the first.
    seeds = batch.first_index * (MAKEUP_ROUNDS + 1)
    base = UpstreamRequest(
        model=ctx.task.model,
        messages=sampling_messages(ctx.task),
        n=wanted,
        temperature=params.temperature,
        max_tokens=params.max_tokens_per_call,
        seed=ctx.seed(seeds),
        extra=params.sampling_extra,
        purpose="sample",
    )
    greedy = params.greedy_sample and batch.first
    stopped = False
    if params.one_sample_per_call:
        texts, shortfall, stopped = await _separately(
            ctx, base, batch=batch, greedy=greedy, seeds=seeds
        )
    else:
        requests = [base]
        if greedy:
            requests = [_greedy(base)]
            if wanted > 1:
                requests.append(dataclasses.replace(base, n=wanted - 1))
        texts, shortfall = await _concurrently(ctx, requests)
    for round_ in range(MAKEUP_ROUNDS):
        # NOTE: only choices a successful answer lacked are asked again, never failed calls.
        missing = min(shortfall, wanted - len(texts))
        if missing <= 0 or stopped or ctx.budget.exhausted() is not None:
            break
        ctx.budget.degrade(f"upstream returned {len(texts)} of {wanted} samples; asked again")
        offset = seeds + (round_ + 1) * wanted
        more, shortfall = await _concurrently(
            ctx,
            [dataclasses.replace(base, n=1, seed=ctx.seed(offset + i)) for i in range(missing)],
        )
        texts += more
    if len(texts) < wanted:
        ctx.budget.degrade(f"sampled {len(texts)} of {wanted} candidates")
    return tuple(
        _candidate(batch.first_index + number, text, entry_point=ctx.entry_point)
        for number, text in enumerate(texts[:wanted])
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


async def _separately(
    ctx: RunContext, base: UpstreamRequest, *, batch: Batch, greedy: bool, seeds: int
) -> tuple[list[str], int, bool]:
    """N concurrent ``n=1`` calls; at ``batch.wait_until`` keep the finished ones (the first
    batch waits on until one is in). Returns the samples, the successful answers' shortfall,
    and whether calls still running were stopped."""
    requests = [
        dataclasses.replace(base, n=1, seed=ctx.seed(seeds + i)) for i in range(batch.samples)
    ]
    if greedy:
        requests[0] = _greedy(base)
    calls = [asyncio.create_task(_texts(ctx, r)) for r in requests]
    stopped = False
    try:
        timeout = (
            None if batch.wait_until is None else max(0.0, batch.wait_until - ctx.budget.now())
        )
        done, pending = await asyncio.wait(calls, timeout=timeout)
        if pending and batch.first and not any(call.result() for call in done):
            await asyncio.wait(pending)  # nothing to work with yet: wait on (run deadline)
        elif pending:
            stopped = True
            finished = sum(len(call.result() or ()) for call in done)
            ctx.budget.degrade(
                f"sampling stopped at its planned time with {finished} of "
                f"{batch.samples} samples finished"
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
