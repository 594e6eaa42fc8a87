"""The client's view of its workers (spreading, pauses) and its bounded queue."""

from __future__ import annotations

import asyncio

import pytest

from sandbox import SandboxUnavailableError
from sandbox.fleet import Admission, Fleet


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fleet(*slots: int, clock: Clock | None = None) -> Fleet:
    made = Fleet(
        [f"http://w{i}" for i in range(len(slots))],
        backoff_s=0.5,
        max_backoff_s=2.0,
        clock=clock or Clock(),
    )
    for worker, count in zip(made.workers, slots, strict=True):
        made.ready(worker, count)
    return made


def test_capacity_counts_ready_workers_only() -> None:
    workers = fleet(2, 3)
    assert workers.capacity() == 5
    workers.not_ready(workers.workers[1], "unreachable")
    assert workers.capacity() == 2
    assert workers.summary() == "http://w1: unreachable"


def test_pick_takes_the_least_loaded_and_takes_turns_on_ties() -> None:
    workers = fleet(1, 4)
    w0, w1 = workers.workers
    w0.in_flight, w1.in_flight = 1, 1  # 1/1 against 1/4
    assert workers.pick(set()) is w1
    w0.in_flight = w1.in_flight = 0
    assert {workers.pick(set()).url, workers.pick(set()).url} == {w0.url, w1.url}  # type: ignore[union-attr]


def test_pick_prefers_workers_the_batch_has_not_tried() -> None:
    workers = fleet(1, 1)
    w0, w1 = workers.workers
    w1.in_flight = 5
    assert workers.pick({w0.url}) is w1
    assert workers.pick({w0.url, w1.url}) is w0  # all tried: any free one


def test_failures_pause_a_worker_longer_each_time() -> None:
    clock = Clock()
    workers = fleet(1, clock=clock)
    (worker,) = workers.workers
    pauses = []
    for _ in range(4):
        workers.failed(worker, "answered 500")
        assert workers.pick(set()) is None
        pauses.append(workers.pause_s())
    assert pauses == [0.5, 1.0, 2.0, 2.0]
    clock.now += 2.0
    assert workers.pick(set()) is worker
    workers.served(worker)
    workers.failed(worker, "answered 500")
    assert workers.pause_s() == 0.5  # a success resets the backoff


def test_busy_workers_are_skipped_until_their_retry_after() -> None:
    clock = Clock()
    workers = fleet(1, 1, clock=clock)
    w0, w1 = workers.workers
    workers.busy(w0, 1.0)
    assert workers.pick(set()) is w1
    workers.busy(w1, 3.0)
    assert workers.pick(set()) is None
    assert workers.pause_s() == 1.0
    workers.not_ready(w0, "gone")
    workers.not_ready(w1, "gone")
    assert workers.pause_s() is None  # nothing to wait for


async def test_admission_lets_in_up_to_capacity_then_queues_in_order() -> None:
    capacity = [2]
    admission = Admission(lambda: capacity[0], lambda: "none", max_waiting=4, timeout_s=5)
    assert await admission.acquire(1) == 1
    assert await admission.acquire(1) == 1
    order: list[str] = []

    async def wait(name: str, units: int) -> None:
        await admission.acquire(units)
        order.append(name)

    first = asyncio.ensure_future(wait("first", 2))
    second = asyncio.ensure_future(wait("second", 1))
    await asyncio.sleep(0.01)
    assert admission.waiting == 2
    admission.release(1)
    await asyncio.sleep(0.01)
    assert order == []  # the head needs 2; nobody overtakes it
    admission.release(1)
    await asyncio.sleep(0.01)
    assert order == ["first"]
    admission.release(2)
    await asyncio.gather(first, second)
    assert order == ["first", "second"]
    assert admission.in_flight == 1


async def test_admission_caps_a_batch_larger_than_capacity() -> None:
    admission = Admission(lambda: 3, lambda: "none", max_waiting=1, timeout_s=5)
    assert await admission.acquire(10) == 3
    admission.release(3)
    assert admission.in_flight == 0


async def test_admission_refuses_beyond_its_bounds() -> None:
    admission = Admission(lambda: 1, lambda: "none", max_waiting=1, timeout_s=0.05)
    await admission.acquire(1)
    waiter = asyncio.ensure_future(admission.acquire(1))
    await asyncio.sleep(0.01)
    with pytest.raises(SandboxUnavailableError, match="queue full"):
        await admission.acquire(1)
    with pytest.raises(SandboxUnavailableError, match=r"waited 0\.05 s"):
        await waiter
    assert admission.waiting == 0
    assert admission.in_flight == 1


async def test_admission_fails_every_waiter_when_no_worker_is_ready() -> None:
    capacity = [1]
    admission = Admission(lambda: capacity[0], lambda: "all gone", max_waiting=4, timeout_s=5)
    await admission.acquire(1)
    waiters = [asyncio.ensure_future(admission.acquire(1)) for _ in range(3)]
    await asyncio.sleep(0.01)
    capacity[0] = 0
    admission.wake()
    for waiter in waiters:
        with pytest.raises(SandboxUnavailableError, match="all gone"):
            await waiter
    with pytest.raises(SandboxUnavailableError, match="all gone"):
        await admission.acquire(1)


async def test_a_cancelled_waiter_holds_nothing() -> None:
    admission = Admission(lambda: 1, lambda: "none", max_waiting=4, timeout_s=5)
    await admission.acquire(1)
    waiter = asyncio.ensure_future(admission.acquire(1))
    await asyncio.sleep(0.01)
    admission.release(1)  # grants the waiter ...
    waiter.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert admission.in_flight == 0
    assert admission.waiting == 0
