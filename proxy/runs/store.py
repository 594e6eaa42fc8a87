"""The bounded store of finished S* run traces, served at ``GET /v1/sstar/runs/{id}``.

A trace holds the client's prompt and every candidate program, so each one is stored with its
owner: the keyed hash of the client key that started the run (``keys.caller_identity``). A read
names the owner it reads as and gets ``None`` unless that owner matches (compared in constant
time), exactly as for an unknown id, so a stranger cannot even tell that a run exists. Who may
read as whom is decided at the HTTP edge (``proxy.api.access``). Capacity 0 keeps nothing.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Stored:
    owner: str
    trace: Mapping[str, object]


class RunStore:
    """The traces of the most recent runs, by run id; the oldest is evicted past ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._capacity = max(0, capacity)
        self._traces: OrderedDict[str, _Stored] = OrderedDict()

    def put(self, run_id: str, trace: Mapping[str, object], *, owner: str) -> None:
        """Keep ``trace`` as ``owner``'s (the caller identity of the run's client)."""
        if self._capacity == 0:
            return
        self._traces[run_id] = _Stored(owner, trace)
        self._traces.move_to_end(run_id)
        while len(self._traces) > self._capacity:
            self._traces.popitem(last=False)

    def get(self, run_id: str, *, owner: str | None) -> Mapping[str, object] | None:
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

    def __len__(self) -> int:
        return len(self._traces)
