"""The run's circuit breaker: once the upstream refuses or fails, the run stops calling it.

An S* run makes many sub-calls, so an upstream fault multiplied by them (and by their retries)
would hammer a server that is already refusing. One breaker per run (``RunBudget.breaker``):

- a 429, 401 or 403 trips it at once: the upstream refuses the run's calls, so neither another
  call nor a retry of a call in flight can succeed now;
- any other ``UpstreamError`` trips it when it ends a call, i.e. after that call's retries: the
  upstream is failing and more calls cannot help.

Once tripped, no new sub-call starts and no call in flight retries (``RunContext.call``); calls
already in flight finish, and the run answers from what it has. With nothing, the engine raises
the error that tripped the breaker, so the client gets the upstream's status and headers.
"""

from __future__ import annotations

from proxy.errors import UpstreamError

REFUSALS = frozenset({401, 403, 429})
"""Statuses that trip the breaker on the first attempt, before any retry."""


class Breaker:
    """Open after the first refusal or failed call; remembers what opened it."""

    def __init__(self) -> None:
        self.cause: UpstreamError | None = None

    @property
    def open(self) -> bool:
        return self.cause is not None

    def trip(self, exc: UpstreamError) -> None:
        """Open the breaker (the first cause is kept)."""
        if self.cause is None:
            self.cause = exc

    def call_failed(self, exc: UpstreamError) -> None:
        """A call ended with ``exc`` (after its retries): open the breaker.

        A call that the open breaker stopped early (``exc`` says "retry later") takes the
        verdict of the failure that opened it, so the client is told one thing per run.
        """
        cause = self.cause
        if cause is not None and cause is not exc and exc.should_retry:
            exc.should_retry = cause.should_retry
        self.trip(exc)

    def allows_retry(self, exc: UpstreamError) -> bool:
        """Note a failed attempt: a refusal trips the breaker; True while it stays closed."""
        if exc.status_code in REFUSALS:
            self.trip(exc)
        return not self.open
