"""``ProxyServer``: uvicorn's server with a bounded, graceful shutdown; ``build_server()``.

On SIGTERM (or SIGINT) uvicorn stops accepting, closes idle connections and waits for the
requests in flight. Alone it would wait for ever on a request to a hung upstream, and after a
graceful shutdown it re-raises the signal, so the process dies of it (status 143) before the
code around ``server.run()`` can stop the embedded model. ``ProxyServer`` instead:

1. tells the app the drain began (``Drain.begin``) and, ``drain_timeout_s`` later, that it is
   over (``Drain.expire``): what still runs is ended with a 503 or an error event
   (``proxy.api.drain``);
2. gives uvicorn ``drain_timeout_s + GRACE_S`` as its own graceful timeout, a backstop that
   also lets those last answers flush;
3. runs the app's lifespan shutdown (sandboxes, upstream clients), then returns normally:
   ``sstar-proxy serve`` stops the embedded model server and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
from collections.abc import Iterator
from typing import Any

import structlog
import uvicorn

from proxy.api.drain import Drain
from proxy.server.config import ServerConfig, ServerLimits
from proxy.server.protocol import BoundedHttpToolsProtocol

log = structlog.get_logger(__name__)

GRACE_S = 5.0
"""After the drain timeout, how long uvicorn still waits for the ended requests' answers."""


class ProxyServer(uvicorn.Server):
    """uvicorn's ``Server`` that drains within ``limits.drain_timeout_s`` and exits normally."""

    def __init__(self, config: ServerConfig, *, drain: Drain | None = None) -> None:
        super().__init__(config)
        self.limits = config.limits
        self.drain = drain

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        timer = None
        if self.drain is not None:
            log.info(
                "shutdown_started",
                in_flight=self.drain.in_flight,
                drain_timeout_s=self.limits.drain_timeout_s,
            )
            self.drain.begin()
            timer = asyncio.get_running_loop().call_later(
                self.limits.drain_timeout_s, self._expire, self.drain
            )
        try:
            await super().shutdown(sockets)
        finally:
            if timer is not None:
                timer.cancel()
        if self.drain is not None:
            log.info("shutdown_completed")

    @staticmethod
    def _expire(drain: Drain) -> None:
        ended = drain.expire()
        log.warning("drain_expired", ended=ended)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                # NOTE: uvicorn re-raises the captured signal once its handlers are restored,
                # killing the process before the caller's cleanup (the embedded model) runs.
                # The shutdown already happened, gracefully: return instead and exit 0.
                self._captured_signals.clear()


def server_config(app: Any, limits: ServerLimits, **kwargs: Any) -> ServerConfig:
    """uvicorn's config for ``app`` with our protocol and ``limits`` (``kwargs``: uvicorn's)."""
    kwargs.setdefault("access_log", False)
    kwargs.setdefault("log_level", "warning")
    kwargs.setdefault("proxy_headers", False)
    kwargs.setdefault("server_header", False)
    kwargs.setdefault("timeout_graceful_shutdown", math.ceil(limits.drain_timeout_s + GRACE_S))
    return ServerConfig(app, limits=limits, http=BoundedHttpToolsProtocol, ws="none", **kwargs)


def build_server(app: Any, limits: ServerLimits, **kwargs: Any) -> ProxyServer:
    """A ``ProxyServer`` for ``app``; drains ``app.state.drain`` when the app has one."""
    drain = getattr(getattr(app, "state", None), "drain", None)
    return ProxyServer(
        server_config(app, limits, **kwargs), drain=drain if isinstance(drain, Drain) else None
    )
