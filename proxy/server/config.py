"""What the connection edge enforces (``ServerLimits``) and uvicorn's config that carries it.

The numbers come from ``Settings`` (``SSTAR_MAX_HEADER_BYTES``, ``SSTAR_CLIENT_READ_TIMEOUT_S``,
``SSTAR_DRAIN_TIMEOUT_S``) except the keep-alive timeout, which is fixed on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import uvicorn

from proxy.settings import Settings

KEEPALIVE_TIMEOUT_S = 75
"""How long an idle keep-alive connection stays open (uvicorn's default is 5 s).

A client that sends on a pooled connection at the moment the server closes it gets a connection
error for a request the server never saw. With the server's timeout equal to the client's pool
expiry (httpx: 5 s) that happens under load, when the server's clock for an idle connection runs
ahead of the client's (measured: 4 of 2,000 requests at 200 connections, ``bench/load.py``). So
the server keeps idle connections well past common client expiries (httpx 5 s, Node 4-5 s,
aiohttp 15 s) and load balancers' idle timeouts (AWS ALB 60 s): the client always closes first.
75 s is nginx's default.
"""


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Per-connection limits (``protocol.py``) and the shutdown drain (``server.py``)."""

    max_header_bytes: int = 64 * 1024
    read_timeout_s: float = 30.0
    drain_timeout_s: float = 30.0
    keepalive_timeout_s: int = KEEPALIVE_TIMEOUT_S

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            read_timeout_s=settings.client_read_timeout_s,
            drain_timeout_s=settings.drain_timeout_s,
        )


class ServerConfig(uvicorn.Config):
    """uvicorn's ``Config`` plus our ``limits``, which the protocol reads from its config."""

    def __init__(self, app: Any, *, limits: ServerLimits, **kwargs: Any) -> None:
        # NOTE: h11's own cap on a request head, for anyone running this config with http="h11"
        # (our protocol is httptools'); h11 answers an oversized head with a plain 400.
        kwargs.setdefault("h11_max_incomplete_event_size", limits.max_header_bytes)
        kwargs.setdefault("timeout_keep_alive", limits.keepalive_timeout_s)
        super().__init__(app, **kwargs)
        self.limits = limits
