"""The bounded store of finished S* run traces, served at ``GET /v1/sstar/runs/{id}``.

A trace holds the client's prompt and every candidate program, so each one is stored with its
owner: the keyed hash of the client key that started the run (``keys.caller_identity``). A read
names the owner it reads as and gets ``None`` unless that owner matches (compared in constant
time), exactly as for an unknown id, so a stranger cannot even tell that a run exists. Who may
read as whom is decided at the HTTP edge (``proxy.api.access``). Capacity 0 keeps nothing.
``recent`` lists an owner's runs, newest first, with when each was stored (the runs page).

``TraceStore`` is what the API needs from a store: ``RunStore`` (this process's memory) and
``proxy.cluster.RedisTraceStore`` (shared by the replicas, ``SSTAR_REDIS_URL``) both are one.
Its methods are coroutines because the shared store asks Redis; the in-memory one never waits.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class _Stored:
    owner: str
    trace: Mapping[str, object]
    stored_at: float


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One listed run: its id, its trace and when it was stored (Unix seconds)."""

    run_id: str
    trace: Mapping[str, object]
    stored_at: float


class TraceStore(Protocol):
    """Finished traces by run id, each readable by its owner only (see ``RunStore``)."""

    @property
    def capacity(self) -> int: ...

    async def put(
        self,
        run_id: str,
        trace: Mapping[str, object],
        *,
        owner: str,
        stored_at: float | None = None,
    ) -> None: ...

    async def get(self, run_id: str, *, owner: str | None) -> Mapping[str, object] | None: ...

    async def owner(self, run_id: str) -> str | None: ...

    async def recent(self, *, owner: str | None) -> tuple[StoredRun, ...]: ...


class RunStore:
    """The traces of the most recent runs, by run id; the oldest is evicted past ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._capacity = max(0, capacity)
        self._traces: OrderedDict[str, _Stored] = OrderedDict()

    @property
    def capacity(self) -> int:
        return self._capacity

    async def put(
        self,
        run_id: str,
        trace: Mapping[str, object],
        *,
        owner: str,
        stored_at: float | None = None,
    ) -> None:
        """Keep ``trace`` as ``owner``'s (the caller identity of the run's client)."""
        if self._capacity == 0:
            return
        when = time.time() if stored_at is None else stored_at
        self._traces[run_id] = _Stored(owner, trace, when)
        self._traces.move_to_end(run_id)
        while len(self._traces) > self._capacity:
            self._traces.popitem(last=False)

    async def get(self, run_id: str, *, owner: str | None) -> Mapping[str, object] | None:
        """The trace of ``run_id`` if it is ``owner``'s; ``None`` if unknown or someone else's.

        ``owner=None`` reads any trace: only for a reader the edge allowed to read every trace
        (no client keys are configured and the client is on loopback, or traces are public).
        """
        stored = self._traces.get(run_id)
        if stored is None:
            return None
        if owner is not None and not hmac.compare_digest(stored.owner, owner):
            return None
        return stored.trace

    async def owner(self, run_id: str) -> str | None:
        """Who made ``run_id`` (``None`` if unknown): for a link that lists that owner's runs."""
        stored = self._traces.get(run_id)
        return stored.owner if stored is not None else None

    async def recent(self, *, owner: str | None) -> tuple[StoredRun, ...]:
        """``owner``'s stored runs, newest first (``owner=None``: everyone's, as for ``get``)."""
        return tuple(
            StoredRun(run_id, stored.trace, stored.stored_at)
            for run_id, stored in reversed(self._traces.items())
            if owner is None or hmac.compare_digest(stored.owner, owner)
        )

    def __len__(self) -> int:
        return len(self._traces)
