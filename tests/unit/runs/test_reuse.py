"""Retry versus regenerate: which requests reuse a finished run, and what a late joiner sees.

A run in flight is joined by the same request (an SDK resending a timed-out request); a finished
run only by a request that says it is a resend (``Reuse``): anything else is a regenerate and
starts a new run. Idempotency keys keep runs apart when they differ. A joiner gets the run's
progress from its start.
"""

from __future__ import annotations

import asyncio

from proxy.runs import Reuse, RunCoordinator
from proxy.scaling.types import ProgressEvent, ScalingResult
from proxy.upstream.base import Usage


class _Runs:
    """A run body that publishes two events, waits for a release and counts its starts."""

    def __init__(self, *, released: bool = True) -> None:
        self.release = asyncio.Event()
        if released:
            self.release.set()
        self.started = 0

    async def __call__(self, publish) -> ScalingResult:
        self.started += 1
        number = self.started
        publish(ProgressEvent("sampling", f"run {number} sampled"))
        await self.release.wait()
        publish(ProgressEvent("selection", f"run {number} selected"))
        return ScalingResult(
            program=f"print({number})",
            message=f"```python\nprint({number})\n```",
            usage=Usage(1, 1),
            upstream_calls=1,
            executions=0,
            selection="first",
            selected=0,
            candidates=(),
        )


def _drain(queue: asyncio.Queue[ProgressEvent]) -> list[str]:
    events = []
    while not queue.empty():
        events.append(queue.get_nowait().message)
    return events


async def test_the_same_request_after_the_run_finished_starts_a_new_run() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs()
    first = await coordinator.subscribe("k", "run-1", runs).result()
    again = coordinator.subscribe("k", "run-2", runs)
    assert not again.joined
    assert again.run_id == "run-2"
    assert (await again.result()).program != first.program
    assert runs.started == 2


async def test_an_sdk_retry_reuses_the_finished_run() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs()
    await coordinator.subscribe("k", "run-1", runs).result()
    retry = coordinator.subscribe("k", "run-2", runs, Reuse(retry=True))
    assert retry.joined
    assert retry.run_id == "run-1"
    assert (await retry.result()).program == "print(1)"
    assert runs.started == 1


async def test_a_retry_after_a_regenerate_gets_the_newest_run() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs()
    await coordinator.subscribe("k", "run-1", runs).result()
    await coordinator.subscribe("k", "run-2", runs).result()
    retry = coordinator.subscribe("k", "run-3", runs, Reuse(retry=True))
    assert retry.run_id == "run-2"


async def test_a_matching_idempotency_key_reuses_the_finished_run() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs()
    await coordinator.subscribe("k", "run-1", runs, Reuse(idempotency_key="abc")).result()
    same = coordinator.subscribe("k", "run-2", runs, Reuse(idempotency_key="abc"))
    other = coordinator.subscribe("k", "run-3", runs, Reuse(idempotency_key="xyz"))
    plain = coordinator.subscribe("k", "run-4", runs)
    assert same.joined
    assert same.run_id == "run-1"
    assert not other.joined
    assert not plain.joined
    await asyncio.gather(other.result(), plain.result())
    assert runs.started == 3


async def test_different_idempotency_keys_do_not_share_a_run_in_flight() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs(released=False)
    first = coordinator.subscribe("k", "run-1", runs, Reuse(idempotency_key="a"))
    second = coordinator.subscribe("k", "run-2", runs, Reuse(idempotency_key="b"))
    again = coordinator.subscribe("k", "run-3", runs, Reuse(idempotency_key="a"))
    assert not second.joined
    assert again.joined
    assert again.run_id == "run-1"
    runs.release.set()
    await asyncio.gather(first.result(), second.result(), again.result())
    assert runs.started == 2


async def test_the_same_request_in_flight_joins_without_saying_it_is_a_retry() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs(released=False)
    first = coordinator.subscribe("k", "run-1", runs)
    second = coordinator.subscribe("k", "run-2", runs)
    assert second.joined
    runs.release.set()
    await asyncio.gather(first.result(), second.result())
    assert runs.started == 1


async def test_a_late_joiner_gets_the_progress_published_before_it_joined() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs(released=False)
    first = coordinator.subscribe("k", "run-1", runs)
    await asyncio.sleep(0.01)  # the run has started and published its first event
    late = coordinator.subscribe("k", "run-2", runs)
    runs.release.set()
    await late.result()
    await asyncio.sleep(0)
    assert _drain(late.progress) == ["run 1 sampled", "run 1 selected"]
    assert _drain(first.progress) == ["run 1 sampled", "run 1 selected"]


async def test_a_retry_of_a_finished_run_gets_all_its_progress() -> None:
    coordinator = RunCoordinator(max_active=4)
    runs = _Runs()
    await coordinator.subscribe("k", "run-1", runs).result()
    retry = coordinator.subscribe("k", "run-2", runs, Reuse(retry=True))
    await retry.result()
    assert _drain(retry.progress) == ["run 1 sampled", "run 1 selected"]
