"""Who the client is, and which S* traces it may read.

A trace holds a client's prompt and every candidate program, so it is private to whoever made
the run (README "Security model"):

- with ``SSTAR_API_KEYS``, only the client key that started the run reads its trace (the store
  compares keyed hashes of the keys: ``proxy.runs``); ``SSTAR_PUBLIC_TRACES`` changes nothing;
- without keys, the key a client presents proves nothing, so traces are served to loopback
  clients only (the operator's own machine), or to anyone with ``SSTAR_PUBLIC_TRACES=true``.

Any refusal looks exactly like an unknown run id (the same 404), so a stranger learns nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Protocol

from starlette.requests import Request

from proxy.settings import Settings


class TraceSource(Protocol):
    """What the access check needs from the S* service."""

    def caller(self, presented_key: bytes | None) -> str: ...

    async def trace(self, run_id: str, *, owner: str | None) -> Mapping[str, object] | None: ...


def presented_key(request: Request) -> bytes | None:
    """The client key as sent: ``Authorization: Bearer``, ``api-key`` or ``x-api-key``."""
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        return token.strip().encode() if scheme.lower() == "bearer" else None
    key = request.headers.get("api-key") or request.headers.get("x-api-key")
    return key.encode() if key is not None else None


def is_loopback(request: Request) -> bool:
    """True when the client connects from 127.0.0.0/8 or ::1 (an IPv4-mapped one counts)."""
    host = request.client.host if request.client is not None else None
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False  # a Unix socket or no address at all: not provably local
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


async def readable_trace(
    request: Request, run_id: str, *, settings: Settings, source: TraceSource
) -> Mapping[str, object] | None:
    """The trace of ``run_id`` if this client may read it; ``None`` if unknown or not allowed."""
    if settings.client_keys():
        # NOTE: auth already checked the key is one of ours; the owner check is the store's.
        return await source.trace(run_id, owner=source.caller(presented_key(request)))
    if settings.public_traces or is_loopback(request):
        return await source.trace(run_id, owner=None)
    return None
