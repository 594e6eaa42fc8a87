"""RunCoordinator: sharing identical runs, cancelling abandoned ones, bounding concurrency."""

from __future__ import annotations

import asyncio

import pytest

from proxy.errors import CapacityError
from proxy.runs import Reuse, RunCoordinator
from proxy.scaling.types import ProgressEvent, ScalingResult
from proxy.upstream.base import Usage


def _result(program: str = "print(1)") -> ScalingResult:
    return ScalingResult(
        program=program,
        message=f"```python\n{program}\n```",
        usage=Usage(1, 2),
        upstream_calls=1,
        executions=0,
        selection="first",
        selected=0,
        candidates=(),
    )


class _Gate:
    """A run body that waits for a release and counts starts and cancellations."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.cancelled = 0

    async def __call__(self, publish) -> ScalingResult:
        self.started += 1
        publish(ProgressEvent("sampling", "started"))
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return _result()


async def test_identical_requests_share_one_run() -> None:
    coordinator = RunCoordinator(max_active=4)
    gate = _Gate()
    first = coordinator.subscribe("k", "run-1", gate)
    second = coordinator.subscribe("k", "run-2", gate)
    gate.release.set()
    assert (await first.result()).program == (await second.result()).program
    assert gate.started == 1
    assert second.joined
    assert not first.joined
    assert second.run_id == "run-1"


async def test_abandoned_run_is_cancelled_after_grace() -> None:
    coordinator = RunCoordinator(max_active=4, grace_s=0.05)
    gate = _Gate()
    sub = coordinator.subscribe("k", "run-1", gate)
    await asyncio.sleep(0)
    sub.release()
    await asyncio.sleep(0.2)
    assert gate.cancelled == 1
    assert coordinator.active == 0


async def test_retry_within_grace_reattaches_instead_of_restarting() -> None:
    coordinator = RunCoordinator(max_active=4, grace_s=0.2)
    gate = _Gate()
    sub = coordinator.subscribe("k", "run-1", gate)
    await asyncio.sleep(0)
    sub.release()
    retry = coordinator.subscribe("k", "run-2", gate)
    await asyncio.sleep(0.3)
    assert gate.cancelled == 0
    gate.release.set()
    assert (await retry.result()).program == "print(1)"
    assert gate.started == 1


async def test_finished_run_serves_a_late_retry_then_expires() -> None:
    now = [0.0]
    coordinator = RunCoordinator(max_active=4, keep_finished_s=10, clock=lambda: now[0])
    gate = _Gate()
    gate.release.set()
    retry = Reuse(retry=True)
    await coordinator.subscribe("k", "run-1", gate).result()
    await coordinator.subscribe("k", "run-2", gate, retry).result()
    assert gate.started == 1
    now[0] = 11.0
    await coordinator.subscribe("k", "run-3", gate, retry).result()
    assert gate.started == 2


async def test_failed_run_is_not_shared_with_a_retry() -> None:
    coordinator = RunCoordinator(max_active=4)
    calls = 0

    async def failing(publish) -> ScalingResult:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await coordinator.subscribe("k", "run-1", failing).result()
    with pytest.raises(RuntimeError):
        await coordinator.subscribe("k", "run-2", failing).result()
    assert calls == 2


async def test_capacity_limit_raises_a_retryable_error() -> None:
    coordinator = RunCoordinator(max_active=1)
    gate = _Gate()
    coordinator.subscribe("a", "run-1", gate)
    await asyncio.sleep(0)
    with pytest.raises(CapacityError) as info:
        coordinator.subscribe("b", "run-2", gate)
    assert info.value.status_code == 429
    assert info.value.retry_after_s is not None
    await coordinator.aclose()
    assert gate.cancelled == 1


async def test_progress_reaches_every_listener() -> None:
    coordinator = RunCoordinator(max_active=2)
    gate = _Gate()
    first = coordinator.subscribe("k", "run-1", gate)
    second = coordinator.subscribe("k", "run-1", gate)
    await asyncio.sleep(0.01)
    assert (await first.progress.get()).stage == "sampling"
    assert (await second.progress.get()).stage == "sampling"
    gate.release.set()
    await first.result()
