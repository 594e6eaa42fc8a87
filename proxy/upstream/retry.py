"""The one retry policy for upstream calls (relay and litellm alike).

Only failures a retry can fix are retried: connection errors and timeouts (``UpstreamError`` with
502/504), rate limits (429) and upstream 5xx. Attempts are bounded, waits grow exponentially with
jitter and honour the upstream's ``Retry-After`` (capped). Callers build a fresh policy per call
because tenacity keeps per-call state on the object. Streams are never retried once a byte has been
relayed: the relay only retries until the upstream's status line arrives.
"""

from __future__ import annotations

import random

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from proxy.errors import UpstreamError
from proxy.settings import Settings

log = structlog.get_logger(__name__)


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, timeouts, connection failures and upstream 5xx; never a 4xx."""
    if not isinstance(exc, UpstreamError):
        return False
    return exc.status_code == 429 or exc.status_code >= 500


class _RetryAfterWait:
    """Exponential jitter, unless the upstream said how long to wait (then that, capped)."""

    def __init__(self, *, initial: float, max_wait: float) -> None:
        self._initial = initial
        self._max_wait = max_wait

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after_s", None)
        if isinstance(hinted, int | float) and hinted >= 0:
            return float(min(hinted, self._max_wait))
        backoff = self._initial * 2 ** (state.attempt_number - 1)
        jitter = random.uniform(0, self._initial)  # noqa: S311 - jitter, not cryptography
        return float(min(backoff + jitter, self._max_wait))


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "upstream_retried",
        attempt=state.attempt_number,
        error=type(exc).__name__,
        status=getattr(exc, "status_code", None),
        wait_s=round(state.upcoming_sleep, 3),
    )


def retrying(settings: Settings) -> AsyncRetrying:
    """A fresh tenacity policy configured from ``settings`` (use once per upstream call)."""
    return AsyncRetrying(
        stop=stop_after_attempt(settings.upstream_retries + 1),
        wait=_RetryAfterWait(
            initial=settings.upstream_retry_backoff_s,
            max_wait=settings.upstream_retry_max_wait_s,
        ),
        retry=retry_if_exception(is_retryable),
        before_sleep=_log_retry,
        reraise=True,
    )
