"""What a :class:`~sandbox.remote.RemoteSandbox` knows of its workers, and its bounded queue.

``Fleet`` holds one ``Worker`` per base URL: whether its ``/ready`` said yes, how many programs
it runs at once (its ``workers``), how many this client has in flight there, and two short
pauses: ``down_until`` after it failed a batch (a 5xx, a timeout, an answer that did not parse;
growing with each consecutive failure) and ``busy_until`` after it said 429. ``pick`` spreads
batches to the least loaded worker (programs in flight per slot; ties in turn), preferring
workers this batch has not tried yet. A worker that is not ready takes nothing until a probe
finds it ready again.

``Admission`` is the client's queue: at most ``capacity`` programs (the sum of the ready workers'
slots) are in flight at once; beyond that callers wait in order, at most ``max_waiting`` of them
and for at most ``timeout_s``. A caller past either bound gets ``SandboxUnavailableError`` at
once rather than piling up behind the workers, and every waiter fails the moment no worker is
ready (fail closed: the caller degrades, nothing runs elsewhere).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sandbox.errors import SandboxUnavailableError


@dataclass(frozen=True, slots=True)
class WorkerView:
    """A snapshot of one worker, for logs, tests and operators."""

    url: str
    ready: bool
    slots: int
    in_flight: int
    served: int
    faults: int
    reason: str | None


class Worker:
    """One worker's state as this client sees it (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ready = False
        self.reason: str | None = "not checked yet"
        self.slots = 0
        self.in_flight = 0
        self.down_until = 0.0
        self.busy_until = 0.0
        self.failures = 0
        self.served = 0
        self.faults = 0
        self.probe: asyncio.Task[None] | None = None

    def view(self) -> WorkerView:
        return WorkerView(
            self.url, self.ready, self.slots, self.in_flight, self.served, self.faults, self.reason
        )


class Fleet:
    """The workers of one client: readiness, load, pauses, and which one takes the next batch."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        backoff_s: float,
        max_backoff_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workers = tuple(Worker(url) for url in urls)
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._clock = clock
        self._turn = 0

    def capacity(self) -> int:
        """Programs the ready workers run at once."""
        return sum(worker.slots for worker in self.workers if worker.ready)

    def pick(self, tried: set[str]) -> Worker | None:
        """The least loaded ready worker that is neither paused nor busy (untried ones first)."""
        now = self._clock()
        free = [w for w in self.workers if w.ready and now >= max(w.down_until, w.busy_until)]
        fresh = [w for w in free if w.url not in tried] or free
        if not fresh:
            return None
        self._turn += 1
        start = self._turn % len(fresh)
        ordered = fresh[start:] + fresh[:start]
        return min(ordered, key=lambda w: w.in_flight / max(w.slots, 1))

    def pause_s(self) -> float | None:
        """Seconds until a ready worker's pause ends (``None``: no ready worker at all)."""
        now = self._clock()
        ends = [max(w.down_until, w.busy_until) for w in self.workers if w.ready]
        return max(0.0, min(ends) - now) if ends else None

    def ready(self, worker: Worker, slots: int) -> None:
        worker.ready, worker.reason, worker.slots = True, None, slots

    def not_ready(self, worker: Worker, reason: str) -> None:
        worker.ready, worker.reason = False, reason

    def gone(self, worker: Worker, reason: str) -> None:
        """A batch found it unreachable, draining or refusing the token: not ready until probed."""
        worker.faults += 1
        self.not_ready(worker, reason)

    def served(self, worker: Worker) -> None:
        worker.served += 1
        worker.failures = 0

    def failed(self, worker: Worker, reason: str) -> None:
        """A batch failed there: pause it, longer after each consecutive failure."""
        worker.faults += 1
        worker.failures += 1
        wait = min(self._max_backoff_s, self._backoff_s * 2 ** (worker.failures - 1))
        worker.down_until = self._clock() + wait
        worker.reason = reason

    def busy(self, worker: Worker, retry_after_s: float) -> None:
        worker.busy_until = self._clock() + retry_after_s

    def summary(self) -> str:
        """Why each worker is not ready, for an error message or ``/ready``."""
        return "; ".join(f"{w.url}: {w.reason or 'not ready'}" for w in self.workers if not w.ready)


class Admission:
    """The client's bounded queue of programs (see the module docstring)."""

    def __init__(
        self,
        capacity: Callable[[], int],
        why_empty: Callable[[], str],
        *,
        max_waiting: int,
        timeout_s: float,
    ) -> None:
        """``capacity()``: programs the ready workers take; ``why_empty()``: why there are none."""
        self._capacity = capacity
        self._why_empty = why_empty
        self._max_waiting = max_waiting
        self._timeout_s = timeout_s
        self.in_flight = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, units: int) -> int:
        """Wait for room for ``units`` programs; returns the units held (``release`` them)."""
        capacity = self._capacity()
        if capacity <= 0:
            raise SandboxUnavailableError(self._why_empty())
        units = max(1, min(units, capacity))
        if not self._waiters and self._fits(units, capacity):
            self.in_flight += units
            return units
        if len(self._waiters) >= self._max_waiting:
            raise SandboxUnavailableError(
                f"sandbox queue full ({len(self._waiters)} batches waiting for the workers)"
            )
        entry = (units, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(self._timeout_s):
                await entry[1]
        except (TimeoutError, asyncio.CancelledError) as exc:
            if _granted(entry[1]):  # let in just as the wait ended
                if isinstance(exc, TimeoutError):
                    return units
                self.release(units)
            if isinstance(exc, TimeoutError):
                raise SandboxUnavailableError(
                    f"waited {self._timeout_s:g} s for a sandbox worker"
                ) from None
            raise
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)
        return units

    def _fits(self, units: int, capacity: int) -> bool:
        return self.in_flight == 0 or self.in_flight + units <= capacity

    def release(self, units: int) -> None:
        self.in_flight -= units
        self.wake()

    def wake(self) -> None:
        """Let waiters in while they fit; fail them all when no worker is ready."""
        capacity = self._capacity()
        while self._waiters:
            units, future = self._waiters[0]
            if future.done():
                self._waiters.popleft()
                continue
            if capacity <= 0:
                future.set_exception(SandboxUnavailableError(self._why_empty()))
                self._waiters.popleft()
                continue
            if not self._fits(units, capacity):
                return
            self._waiters.popleft()
            self.in_flight += units
            future.set_result(None)


def _granted(future: asyncio.Future[None]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
