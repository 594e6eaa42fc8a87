"""The one retry policy for upstream calls: pass-through (relay, litellm) and S* sub-calls alike.

One layer per client request, never nested: the provider SDK's own retries are 0, the relay and
the litellm pass-through retry here, and the S* engine retries in its one call helper
(``proxy.scaling.context``) with the same policy. So a logical call makes at most
``1 + retries`` attempts, whatever route it took.

What is retried (``is_retryable``): connection failures, timeouts, upstream 5xx and the 4xx the
SDKs retry too (408, 409, 429). Never another 4xx, and never what the upstream marked
``x-should-retry: false`` (its ``true`` makes anything retryable, as in the official SDKs). Waits
grow exponentially with jitter from ``backoff_s``, or are what the upstream's ``Retry-After``
asks for; a ``Retry-After`` above ``max_wait_s`` is not waited for: the call gives up at once and
relays it. No wait outlives the caller's deadline.

What the client is told when the proxy gives up (:meth:`RetryPolicy.relayable`): a 429 or 503
always carries ``Retry-After`` (the upstream's, else the proxy's estimate, whole seconds >= 1 on
the wire), and any retryable fault carries ``x-should-retry``: ``false`` when the proxy already
spent its retries on it (the client's own retries would multiply the calls for nothing), ``true``
when it gave up early (the wait was above the cap or past the deadline, the run's breaker was
open, or retries are off), so the client may come back after ``Retry-After``.

Every failed attempt, retried or not, is shown to the policy's ``observer`` when it has one (the
app counts them by class in ``proxy.metrics``; the policy stays free of any metrics library).

The module is pure but for :func:`call_with_retries`, which sleeps; it imports no settings, so the
engine can use it.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import structlog

from proxy.errors import UpstreamError

if TYPE_CHECKING:
    from proxy.settings import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")

RETRYABLE_4XX = frozenset({408, 409, 429})
"""The client errors worth another attempt (the official SDKs retry exactly these)."""
ASK_LATER = frozenset({429, 503})
"""Statuses relayed with ``Retry-After`` always: the client should come back later."""


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt could succeed (see the module docstring)."""
    if not isinstance(exc, UpstreamError):
        return False
    if exc.should_retry is not None:  # the upstream said so (x-should-retry)
        return exc.should_retry
    return exc.status_code in RETRYABLE_4XX or exc.status_code >= 500


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (an HTTP-date is ignored)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) / scale
        except (TypeError, ValueError):
            continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


def should_retry_from(headers: Mapping[str, str]) -> bool | None:
    """The upstream's ``x-should-retry`` verdict, ``None`` when it gave none."""
    value = str(headers.get("x-should-retry") or "").strip().lower()
    return {"true": True, "false": False}.get(value)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries, how long to wait, and what the client is told after the last one."""

    retries: int = 2
    backoff_s: float = 0.5
    max_wait_s: float = 20.0
    observer: Callable[[UpstreamError], None] | None = field(
        default=None, compare=False, repr=False
    )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: Callable[[UpstreamError], None] | None = None
    ) -> RetryPolicy:
        return cls(
            retries=settings.upstream_retries,
            backoff_s=settings.upstream_retry_backoff_s,
            max_wait_s=settings.upstream_retry_max_wait_s,
            observer=observer,
        )

    def backoff(self, attempt: int) -> float:
        """The exponential back-off after failed attempt ``attempt`` (1-based), with jitter."""
        jitter = random.uniform(0, self.backoff_s)  # noqa: S311 - jitter, not cryptography
        return float(min(self.backoff_s * 2 ** (attempt - 1) + jitter, self.max_wait_s))

    def wait_s(self, exc: BaseException, attempt: int) -> float | None:
        """Seconds to wait before the next attempt after failed attempt ``attempt``, or ``None``:
        not retryable, attempts spent, or the upstream asks for a wait above the cap."""
        if attempt > self.retries or not is_retryable(exc):
            return None
        hinted = getattr(exc, "retry_after_s", None)
        if isinstance(hinted, int | float):
            return float(hinted) if hinted <= self.max_wait_s else None
        return self.backoff(attempt)

    def relayable(self, exc: UpstreamError, *, attempt: int) -> UpstreamError:
        """``exc`` (updated in place) as the client should see it after ``attempt`` attempts:
        ``should_retry`` and ``retry_after_s`` set as the module docstring says."""
        if exc.retry_after_s is None and exc.status_code in ASK_LATER:
            exc.retry_after_s = max(1.0, math.ceil(self.backoff_s * 2 ** (attempt - 1)))
        if is_retryable(exc):
            spent = attempt > self.retries and self.retries > 0
            exc.should_retry = not spent
        return exc


NO_RETRIES = RetryPolicy(retries=0, backoff_s=0.0)
"""One attempt per call (what the engine does unless it is given a policy)."""


async def call_with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], Awaitable[T]],
    *,
    deadline: float | None = None,
    may_retry: Callable[[UpstreamError], bool] | None = None,
) -> T:
    """``await attempt()`` until it succeeds or the policy gives up; then raise the last
    ``UpstreamError`` as :meth:`RetryPolicy.relayable` makes it.

    ``deadline`` (event-loop time) forbids a wait that would end after it; the caller bounds each
    attempt itself. ``may_retry`` sees every failure first and can veto another attempt (the S*
    run's breaker). Anything but an ``UpstreamError`` propagates at once.
    """
    loop = asyncio.get_running_loop()
    number = 0
    while True:
        number += 1
        try:
            return await attempt()
        except UpstreamError as exc:
            if policy.observer is not None:
                policy.observer(exc)
            wait = policy.wait_s(exc, number)
            vetoed = may_retry is not None and not may_retry(exc)
            late = deadline is not None and wait is not None and loop.time() + wait >= deadline
            if wait is None or vetoed or late:
                policy.relayable(exc, attempt=number)
                raise
            log.warning(
                "upstream_retried",
                attempt=number,
                error=type(exc).__name__,
                status=exc.status_code,
                wait_s=round(wait, 3),
            )
            await asyncio.sleep(wait)
