"""``RedisTraceStore``: finished run traces shared by the replicas, so any replica serves any
client's trace (``GET /v1/sstar/runs/{id}``, the runs page).

Key layout (under ``SSTAR_REDIS_PREFIX``, every key with the TTL ``SSTAR_TRACE_TTL_S``):

- ``trace:<run id>``: a hash ``{owner, stored_at, trace}``; ``trace`` is the trace as JSON,
  ``owner`` the caller identity that made the run (a keyed hash, never the client key);
- ``owner:<owner>``: a sorted set of that owner's run ids scored by ``stored_at`` (the runs
  page), trimmed to ``capacity``;
- ``traces``: a sorted set of every run id likewise; a run that falls out of it past
  ``capacity`` has its trace deleted, so Redis holds at most ``SSTAR_RUN_STORE_SIZE`` traces, the
  bound one process keeps in memory.

One Lua script writes all three at once, so a reader never sees an index entry without
its trace being written first (an entry whose trace has expired or was evicted is skipped, and
dropped from its index, when read).

Access is the in-memory store's (``proxy.runs.store``): a read names its owner and a stranger
gets ``None``, exactly as for an unknown id (owners compared in constant time).

Outages (``proxy.cluster.link``): every trace is also kept in ``local``, this replica's own
``RunStore``, so the replica that made a trace serves it while Redis is away. Reads ask Redis
first, then ``local``; a write during an outage stays local (Redis gets the next ones when it is
back). Traces hold prompts and programs: nothing here logs their content.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import structlog
from redis.asyncio import Redis

from proxy.cluster.link import RedisLink
from proxy.runs.store import RunStore, StoredRun

log = structlog.get_logger(__name__)

MAX_SHARED_TRACE_BYTES = 8 << 20
"""A trace's JSON larger than this stays on the replica that made it (a warning says so).

Traces are bounded by what makes them: the prompt (at most ``SSTAR_MAX_BODY_BYTES``), N
candidates times their debug rounds (programs bounded by the sampling tokens, each test's output
clipped to 2000 characters). Typical traces are tens of KB; this only guards Redis against a
pathological one."""

_FIELDS = ("owner", "stored_at", "trace")

_PUT = """
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'stored_at', ARGV[2], 'trace', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local keep = tonumber(ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -keep - 1)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
local evicted = redis.call('ZRANGE', KEYS[3], 0, -keep - 1)
for _, run_id in ipairs(evicted) do
  redis.call('DEL', ARGV[7] .. run_id)
end
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -keep - 1)
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return #evicted
"""
"""KEYS: the trace, its owner's index, the index of all. ARGV: owner, stored_at, trace JSON, TTL
in ms, run id, capacity, the trace keys' prefix (the evicted traces' keys are built here: a
single Redis, not Redis Cluster)."""


@dataclass(frozen=True, slots=True)
class _Shared:
    owner: str
    stored_at: float
    trace: Mapping[str, object]


class RedisTraceStore:
    """A ``TraceStore`` in the replicas' Redis, with this replica's ``RunStore`` as fallback."""

    def __init__(self, link: RedisLink, local: RunStore, *, ttl_s: float) -> None:
        """``local`` bounds both (its ``capacity``, ``SSTAR_RUN_STORE_SIZE``); ``ttl_s`` is how
        long Redis keeps a trace (``SSTAR_TRACE_TTL_S``)."""
        self._link = link
        self._local = local
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._all = link.key("traces")
        self._put_script = link.client.register_script(_PUT)

    @property
    def capacity(self) -> int:
        return self._local.capacity

    async def put(
        self,
        run_id: str,
        trace: Mapping[str, object],
        *,
        owner: str,
        stored_at: float | None = None,
    ) -> None:
        """Keep ``trace`` as ``owner``'s, here and (unless Redis is away) for every replica."""
        if self.capacity == 0:
            return
        when = time.time() if stored_at is None else stored_at
        await self._local.put(run_id, trace, owner=owner, stored_at=when)
        document = await asyncio.to_thread(_encode, trace)
        if document is None:
            log.warning("trace_not_shared", run_id=run_id, reason="not JSON")
            return
        if len(document) > MAX_SHARED_TRACE_BYTES:
            log.warning("trace_not_shared", run_id=run_id, reason="too large", bytes=len(document))
            return
        keys = [self._trace_key(run_id), self._owner_key(owner), self._all]
        args: list[str | bytes | int] = [
            owner,
            repr(when),
            document,
            self._ttl_ms,
            run_id,
            self.capacity,
            self._link.key("trace", ""),
        ]

        async def write(client: Redis) -> object:
            return await self._put_script(keys=keys, args=args, client=client)

        await self._link.attempt("traces.put", write, None)

    async def get(self, run_id: str, *, owner: str | None) -> Mapping[str, object] | None:
        """``run_id``'s trace if it is ``owner``'s (``None``: anyone's; as ``RunStore.get``)."""
        key = self._trace_key(run_id)

        async def read(client: Redis) -> list[bytes | None]:
            return cast("list[bytes | None]", await client.hmget(key, list(_FIELDS)))

        fields = await self._link.attempt("traces.get", read, None)
        shared = await asyncio.to_thread(_decode, fields) if fields is not None else None
        if shared is None:
            return await self._local.get(run_id, owner=owner)
        if owner is not None and not hmac.compare_digest(shared.owner, owner):
            return None
        return shared.trace

    async def owner(self, run_id: str) -> str | None:
        """Who made ``run_id`` (``None`` if unknown here and in Redis)."""
        key = self._trace_key(run_id)

        async def read(client: Redis) -> bytes | None:
            return cast("bytes | None", await client.hget(key, "owner"))

        found = await self._link.attempt("traces.owner", read, None)
        if found is not None:
            return found.decode("utf-8", errors="replace")
        return await self._local.owner(run_id)

    async def recent(self, *, owner: str | None) -> tuple[StoredRun, ...]:
        """``owner``'s runs (``None``: everyone's), newest first: Redis's and this replica's."""
        index = self._all if owner is None else self._owner_key(owner)
        limit = self.capacity

        async def read(client: Redis) -> list[tuple[bytes, list[bytes | None]]]:
            ids = cast("list[bytes]", await client.zrevrange(index, 0, limit - 1))
            if not ids:
                return []
            async with client.pipeline(transaction=False) as pipe:
                for run_id in ids:
                    pipe.hmget(self._trace_key(run_id.decode()), list(_FIELDS))
                rows = cast("list[list[bytes | None]]", await pipe.execute())
            return list(zip(ids, rows, strict=True))

        local = await self._local.recent(owner=owner)
        rows = await self._link.attempt("traces.recent", read, None) if limit > 0 else None
        if not rows:
            return local
        decoded = await asyncio.to_thread(lambda: [(i, _decode(f)) for i, f in rows])
        found: dict[str, StoredRun] = {}
        stale: list[bytes] = []
        for raw_id, shared in decoded:
            if shared is None:
                stale.append(raw_id)
            elif owner is None or hmac.compare_digest(shared.owner, owner):
                run_id = raw_id.decode()
                found[run_id] = StoredRun(run_id, shared.trace, shared.stored_at)
        if stale:
            await self._link.attempt("traces.prune", lambda client: client.zrem(index, *stale), 0)
        for run in local:
            found.setdefault(run.run_id, run)
        newest = sorted(found.values(), key=lambda run: run.stored_at, reverse=True)
        return tuple(newest[:limit])

    def _trace_key(self, run_id: str) -> str:
        return self._link.key("trace", run_id)

    def _owner_key(self, owner: str) -> str:
        return self._link.key("owner", owner)


def _encode(trace: Mapping[str, object]) -> bytes | None:
    try:
        return json.dumps(trace, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError):
        return None


def _decode(fields: Sequence[bytes | None] | None) -> _Shared | None:
    """A stored hash read back; ``None`` when absent (expired, evicted) or not ours to read."""
    if fields is None or len(fields) != len(_FIELDS) or any(f is None for f in fields):
        return None
    owner, stored_at, document = cast("Sequence[bytes]", fields)
    try:
        trace: Any = json.loads(document)
        when = float(stored_at)
        who = owner.decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(trace, dict):
        return None
    return _Shared(who, when, trace)
