"""The proxy's own share of a request's time: what ``x-sstar-overhead-ms`` reports.

A request's overhead is its time from arrival to the response's status line minus the time
during which something outside the proxy was working for it: an upstream call (attempts,
retry waits and, for a JSON answer, reading its body) or a sandbox run. Waits overlap (S*
samples while its input synthesis runs; pass-through fan-out sends calls at once), so the clock
counts the *union* of the waits, never their sum: overhead is the time the request spent with
nothing outside in flight, i.e. the proxy's parsing, detection, planning, clustering, rendering
and queueing on the critical path. It is measured up to the status line because that is when
the header is sent: for a stream it is the time to the first byte.

The request's clock travels in a context variable, set by the metrics middleware
(``proxy.api.metering``) and inherited by every task the request starts (an S* run's task
too). Code that waits on the outside world wraps the wait in :func:`waiting`; with no clock
set (a benchmark, a unit test) it does nothing. Everything runs on one event loop, so the
clock needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token


class WaitClock:
    """The union of the intervals during which at least one outside wait was in flight."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._depth = 0
        self._since = 0.0
        self._total = 0.0

    def enter(self) -> None:
        if self._depth == 0:
            self._since = self._clock()
        self._depth += 1

    def leave(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._total += self._clock() - self._since

    def waited_s(self) -> float:
        """Seconds spent waiting so far (an interval still open counts up to now)."""
        open_s = self._clock() - self._since if self._depth > 0 else 0.0
        return self._total + open_s


_CLOCK: ContextVar[WaitClock | None] = ContextVar("sstar_wait_clock", default=None)


def start_clock(clock: WaitClock) -> Token[WaitClock | None]:
    """Make ``clock`` the current request's; returns the token for :func:`stop_clock`."""
    return _CLOCK.set(clock)


def stop_clock(token: Token[WaitClock | None]) -> None:
    _CLOCK.reset(token)


@contextmanager
def waiting() -> Iterator[None]:
    """Count the enclosed block as time the request waited on the outside world."""
    clock = _CLOCK.get()
    if clock is None:
        yield
        return
    clock.enter()
    try:
        yield
    finally:
        clock.leave()
