"""The wait clock behind ``x-sstar-overhead-ms``: the union of overlapping waits, per request."""

from __future__ import annotations

import asyncio

from proxy.overhead import WaitClock, start_clock, stop_clock, waiting


class ManualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_overlapping_waits_count_once():
    time = ManualTime()
    clock = WaitClock(time)
    clock.enter()  # an upstream call from 0 to 3
    time.now = 1.0
    clock.enter()  # a sandbox run from 1 to 2, inside it
    time.now = 2.0
    clock.leave()
    time.now = 3.0
    clock.leave()
    time.now = 5.0  # the proxy's own work from 3 to 5
    clock.enter()  # another call from 5, still open at 6
    time.now = 6.0
    assert clock.waited_s() == 4.0
    clock.leave()
    time.now = 10.0
    assert clock.waited_s() == 4.0


async def test_the_requests_clock_reaches_the_tasks_it_starts():
    time = ManualTime()
    clock = WaitClock(time)
    token = start_clock(clock)
    try:

        async def call() -> None:
            with waiting():
                time.now += 2.0
                await asyncio.sleep(0)

        await asyncio.create_task(call())  # an S* run's task inherits the context
    finally:
        stop_clock(token)
    with waiting():  # no clock any more: nothing is counted
        time.now += 5.0
    assert clock.waited_s() == 2.0


async def test_two_requests_keep_their_own_clocks():
    time = ManualTime()
    clocks = [WaitClock(time), WaitClock(time)]

    async def request(clock: WaitClock, wait_s: float) -> None:
        token = start_clock(clock)
        try:
            with waiting():
                time.now += wait_s
                await asyncio.sleep(0)
        finally:
            stop_clock(token)

    await asyncio.gather(request(clocks[0], 1.0), request(clocks[1], 0.0))
    assert clocks[1].waited_s() < clocks[0].waited_s()
