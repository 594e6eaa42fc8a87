"""``RedisLink``: the replicas' one connection to Redis, and what happens when Redis is away.

Every shared operation goes through :meth:`RedisLink.attempt`: it runs the operation and, on any
Redis or network failure, returns the caller's fallback instead of raising, marks Redis down and
records the failure (``sstar_redis_errors_total``, ``sstar_redis_up``, one ``redis_unavailable``
warning per outage, never the URL: it may carry a password). While Redis is down the operations
are not even tried for ``retry_after_s``: without that, every request would wait for a connect
timeout during an outage. The first attempt after that window probes Redis again; success ends
the outage (``redis_restored``).

Short socket timeouts keep a Redis that hangs (rather than refuses) from holding requests: an
operation is a few round trips on a local network.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from proxy.metrics import Metrics

log = structlog.get_logger(__name__)

T = TypeVar("T")
F = TypeVar("F")

SOCKET_TIMEOUT_S = 2.0
"""Longest wait for one Redis reply (a blocking read asks for its own, shorter, block time)."""
CONNECT_TIMEOUT_S = 1.0
RETRY_AFTER_S = 5.0
"""How long a replica works on its own state after a failure before it tries Redis again."""


class RedisLink:
    """A Redis client shared by the cluster stores, with the outage rule of the module docstring."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "sstar:",
        metrics: Metrics | None = None,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self._metrics = metrics or Metrics(redis=True)
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down_since: float | None = None

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "sstar:", metrics: Metrics | None = None
    ) -> RedisLink:
        """A link to ``url`` (no connection is made until the first operation)."""
        client = Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=30,
        )
        return cls(client, prefix=prefix, metrics=metrics)

    @property
    def up(self) -> bool:
        """Whether Redis answered the last operation (or the outage window is over)."""
        return self._down_since is None

    def key(self, *parts: str) -> str:
        """A key under the prefix: ``key("trace", run_id)`` is ``sstar:trace:<id>``."""
        return self.prefix + ":".join(parts)

    async def attempt(
        self, operation: str, action: Callable[[Redis], Awaitable[T]], fallback: F
    ) -> T | F:
        """``action(client)``'s result, or ``fallback`` if Redis fails or is known down.

        ``operation`` names the call for the metric and the log (a fixed string, never input)."""
        if self._down_since is not None and self._clock() - self._down_since < self._retry_after_s:
            self._metrics.redis_failed(operation)
            return fallback
        try:
            result = await action(self.client)
        except (RedisError, OSError) as exc:
            self.failed(operation, exc)
            return fallback
        if self._down_since is not None:
            self._down_since = None
            self._metrics.redis_changed(up=True)
            log.info("redis_restored", operation=operation)
        return result

    async def ping(self) -> bool:
        """Whether Redis answers now (``/ready`` and tests)."""
        return bool(await self.attempt("ping", lambda client: client.ping(), False))

    async def aclose(self) -> None:
        await self.client.aclose()

    def failed(self, operation: str, exc: BaseException) -> None:
        """Record a failure of an operation ``attempt`` cannot wrap (a blocking read loop)."""
        self._metrics.redis_failed(operation)
        if self._down_since is None:
            self._metrics.redis_changed(up=False)
            # NOTE: the error's class and text, never the URL (it may carry a password).
            log.warning(
                "redis_unavailable",
                operation=operation,
                error=type(exc).__name__,
                detail=str(exc)[:200],
                fallback="this replica's own state",
            )
        self._down_since = self._clock()
