"""S* runs shared across replicas: a lease per run key, a stream per run, one global capacity.

``ClusterCoordinator`` is ``proxy.runs.RunCoordinator`` (sharing on one replica: joins,
resends, the grace before an abandoned run is cancelled) plus Redis, so that an SDK retry that a
load balancer sends to another replica joins the run the first replica is already paying for.

The first request for a run key takes the key's **lease** (``SET NX PX``: this replica's id and
the run id), renewed by the holder while the run is in flight, and becomes the holder: it runs
the request and appends every progress event, then the outcome (the result, a failure, or
"cancelled"), to the key's **stream** (``XADD``; the stream expires ``keep_finished_s`` after the
outcome). A request with the same key on another replica, while the lease is held (or after a
result, if it is a resend per ``Reuse``), becomes a **follower**: a local run that replays the
stream from the start and relays it live (``XREAD BLOCK`` in short blocks) up to the outcome,
so the request sees the same ``Subscription`` as a local join (the holder's run id, its
progress, its ``ScalingResult`` decoded by ``codec.py``). A follower registers in the key's
follower set (scored by an expiry it keeps refreshing): the holder cancels an abandoned run
only when neither a local listener nor a live remote follower is left. That is the case this
exists for: a client's first request to replica A timed out, its retry went to B, and A must
keep running the run for B.

**Takeover.** A follower that sees the lease gone without an outcome (the holder died), or a
"cancelled" outcome (the holder shut down), claims the lease itself and runs the request under
the run id the client was already told; the claim is atomic, so of many followers one runs and
the others follow it. A failed run is relayed as the same failure and is not reused by a later
request, as on one replica.

**Capacity.** Runs in flight across all replicas are at most ``max_active``: a sorted set of
run leases scored by their expiry; the open script drops expired members (a dead replica's runs
stop counting once their lease would have expired) and refuses past the limit with the same
``CapacityError`` as one replica. Followers take no capacity: they run nothing.
``sstar_runs_in_flight`` stays per replica (the runs this replica executes).

**Outage.** Every Redis operation falls back (``RedisLink``): no answer from Redis when opening
means this replica's own coordinator and capacity; a holder that cannot publish keeps running
for its own listeners; a follower that loses Redis mid-wait runs the request itself (a warning)
rather than fail it.

The decisions are atomic scripts (``scripts.py``) that read the time from Redis, so replicas'
clocks need not agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from proxy.cluster.codec import CodecError, decode_event, decode_result, encode
from proxy.cluster.link import RedisLink
from proxy.cluster.scripts import (
    FINISH_SCRIPT,
    FOLLOWER_SCRIPT,
    FOLLOWERS_SCRIPT,
    OPEN_SCRIPT,
    RENEW_SCRIPT,
    TAKEOVER_SCRIPT,
)
from proxy.errors import ProxyError
from proxy.runs.sharing import (
    Reuse,
    RunCoordinator,
    RunFactory,
    RunStarter,
    SharedRun,
    Subscription,
    keyed,
)
from proxy.scaling.types import ProgressCallback, ProgressEvent, ScalingResult

log = structlog.get_logger(__name__)

Arg = str | int
"""A script argument."""

LEASE_S = 10.0
"""How long a lease outlives its holder's last renewal (renewed every third of it): the time a
follower waits before it takes over the run of a replica that died."""
STREAM_MAXLEN = 10_000
"""Entries kept per run stream (a run publishes tens of progress events)."""
FOLLOW_BLOCK_S = 1.0
"""Longest single ``XREAD BLOCK``: under the link's socket timeout, and how often a follower that
hears nothing checks the lease."""


class ClusterCoordinator(RunCoordinator):
    """``RunCoordinator`` whose runs are shared with the other replicas on ``link``."""

    def __init__(
        self,
        link: RedisLink,
        *,
        max_active: int,
        grace_s: float = 1.0,
        keep_finished_s: float = 30.0,
        lease_s: float = LEASE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            max_active=max_active, grace_s=grace_s, keep_finished_s=keep_finished_s, clock=clock
        )
        self._link = link
        self._lease_ms = max(1, round(lease_s * 1000))
        self._keep_ms = max(1, round(keep_finished_s * 1000))
        self._block_ms = max(10, round(min(FOLLOW_BLOCK_S, lease_s / 2) * 1000))
        self.replica = secrets.token_hex(8)
        client = link.client
        self._open = client.register_script(OPEN_SCRIPT)
        self._takeover = client.register_script(TAKEOVER_SCRIPT)
        self._renew = client.register_script(RENEW_SCRIPT)
        self._finish = client.register_script(FINISH_SCRIPT)
        self._follower = client.register_script(FOLLOWER_SCRIPT)
        self._followers = client.register_script(FOLLOWERS_SCRIPT)
        self._background: set[asyncio.Task[Any]] = set()

    async def open(
        self, key: str, run_id: str, starter: RunStarter, reuse: Reuse | None = None
    ) -> Subscription:
        """Join this replica's run, follow another replica's, or lead a new one (module doc).

        Raises ``CapacityError`` when a new run would exceed ``max_active`` across replicas."""
        reuse = reuse or Reuse()
        self._forget_stale()
        key = keyed(key, reuse)
        local = self._joinable(key, reuse)
        if local is not None:
            return self._attach(local, joined=True)
        token = f"{self.replica}:{run_id}"
        member = secrets.token_hex(8)
        keys = self._keys(key)
        resend = int(reuse.retry or reuse.idempotency_key is not None)
        args: list[Arg] = [
            token, self._lease_ms, self._max_active, resend, member, self._keep_ms, STREAM_MAXLEN,
            run_id,
        ]  # fmt: skip
        claim = await self._link.attempt(
            "runs.open", lambda r: self._open(keys=keys, args=args, client=r), None
        )
        if claim is None:  # NOTE: Redis is away: this replica alone (its own capacity too).
            return self.subscribe(key, run_id, starter(run_id))
        verdict = _text(claim[0])
        if verdict == "full":
            raise self._capacity_error()
        if verdict == "lead":
            run = self._start(key, run_id, self._lead(key, token, run_id, starter(run_id)))
            return self._attach(run, joined=False)
        holder = _text(claim[1])
        if holder.startswith(self.replica + ":"):
            # Another request of this replica leads it (it started while this one asked Redis).
            own = self._runs.get(key)
            if own is not None and not own.task.done():
                self._leave_later(key, member)
                return self._attach(own, joined=True)
        holder_run = holder.split(":", 1)[1]
        follower = self._follow(key, holder_run, member, starter)
        return self._attach(self._start(key, holder_run, follower, follows=True), joined=True)

    async def aclose(self) -> None:
        await super().aclose()
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(BaseException):
                await task

    # --- the holder ------------------------------------------------------------------------
    def _lead(self, key: str, token: str, run_id: str, factory: RunFactory) -> RunFactory:
        """``factory`` run as the lease holder: its progress and outcome go to the stream."""
        keys = self._keys(key)

        async def lead(publish: ProgressCallback) -> ScalingResult:
            writer = _StreamWriter(self._link, keys[1], run_id)
            renewal = asyncio.create_task(self._keep_lease(keys, token))

            def both(event: ProgressEvent) -> None:
                publish(event)
                writer.add(event)

            kind, data = "cancelled", ""
            try:
                result = await factory(both)
                kind, data = "result", encode(result)
                return result
            except Exception as exc:
                kind, data = "failed", _failure(exc)
                raise
            finally:
                renewal.cancel()
                await _finish_quietly(writer.close())
                args: list[Arg] = [token, kind, run_id, data, self._keep_ms, STREAM_MAXLEN]
                await _finish_quietly(
                    self._link.attempt(
                        "runs.finish",
                        lambda r: self._finish(keys=keys, args=args, client=r),
                        None,
                    )
                )

        return lead

    async def _keep_lease(self, keys: list[str], token: str) -> None:
        """Renew the lease (and the capacity entry) every third of its length while running."""
        args: list[Arg] = [token, self._lease_ms, self._keep_ms]
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            held = await self._link.attempt(
                "runs.renew", lambda r: self._renew(keys=keys[:3], args=args, client=r), None
            )
            if held == 0:
                # The lease expired (a stall, or Redis lost it): another replica may run this
                # key now; this run still answers its own listeners.
                log.warning("run_lease_lost", run_id=token.split(":", 1)[1])
                return

    def _cancel_if_abandoned(self, run: SharedRun) -> None:
        """After the grace: cancel only if no follower on another replica still listens."""
        run.cancel_handle = None
        if run.follows or run.subscribers > 0 or run.task.done():
            super()._cancel_if_abandoned(run)
            return
        task = asyncio.create_task(self._check_followers(run))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _check_followers(self, run: SharedRun) -> None:
        followers_key = self._keys(run.key)[3]
        count = await self._link.attempt(
            "runs.followers", lambda r: self._followers(keys=[followers_key], client=r), 0
        )
        if run.subscribers > 0 or run.task.done():
            return
        if int(count) > 0:
            loop = asyncio.get_running_loop()
            run.cancel_handle = loop.call_later(self._grace_s, self._cancel_if_abandoned, run)
            return
        super()._cancel_if_abandoned(run)

    # --- a follower ------------------------------------------------------------------------
    def _follow(self, key: str, run_id: str, member: str, starter: RunStarter) -> RunFactory:
        """Relay the holder's stream (replayed from its start) until its outcome."""
        followers_key = self._keys(key)[3]

        async def follow(publish: ProgressCallback) -> ScalingResult:
            staying = asyncio.create_task(self._keep_following(followers_key, member))
            try:
                return await self._relay(key, run_id, publish, starter)
            finally:
                staying.cancel()
                await _finish_quietly(self._leave(followers_key, member))

        return follow

    async def _relay(
        self, key: str, run_id: str, publish: ProgressCallback, starter: RunStarter
    ) -> ScalingResult:
        events_key = self._keys(key)[1]
        last = "0-0"
        while True:
            try:
                reply: Any = await self._link.client.xread(
                    {events_key: last}, count=100, block=self._block_ms
                )
            except (RedisError, OSError) as exc:
                self._link.failed("runs.follow", exc)
                return await self._alone(key, run_id, publish, starter)
            entries = reply[0][1] if reply else []
            takeover = not entries
            for entry_id, fields in entries:
                last = _text(entry_id)
                kind = _text(fields.get(b"kind", b""))
                data = fields.get(b"data", b"")
                if kind == "progress":
                    publish(decode_event(data))
                elif kind == "result":
                    return decode_result(data)
                elif kind == "failed":
                    raise _remote_failure(data)
                elif kind == "cancelled":
                    takeover = True
            if not takeover:
                continue
            verdict = await self._take_over(key, run_id)
            if verdict is None:
                return await self._alone(key, run_id, publish, starter)
            if verdict == "lead":
                log.warning("run_taken_over", run_id=run_id)
                self._executing(key, run_id)
                token = f"{self.replica}:{run_id}"
                return await self._lead(key, token, run_id, starter(run_id))(publish)

    async def _alone(
        self, key: str, run_id: str, publish: ProgressCallback, starter: RunStarter
    ) -> ScalingResult:
        """Redis went away while following: answer from a run of this replica's own."""
        log.warning("run_follow_lost_redis", run_id=run_id, action="running it here")
        self._executing(key, run_id)
        return await starter(run_id)(publish)

    def _executing(self, key: str, run_id: str) -> None:
        """A follower's run now does the work here (``active`` counts it)."""
        run = self._runs.get(key)
        if run is not None and run.run_id == run_id:
            run.follows = False

    async def _take_over(self, key: str, run_id: str) -> str | None:
        """``lead`` if this replica now holds the lease, ``wait`` if not, ``None``: no Redis."""
        token = f"{self.replica}:{run_id}"
        args: list[Arg] = [token, self._lease_ms, self._keep_ms, STREAM_MAXLEN, run_id]
        keys = self._keys(key)[:3]
        verdict = await self._link.attempt(
            "runs.takeover", lambda r: self._takeover(keys=keys, args=args, client=r), None
        )
        return None if verdict is None else _text(verdict)

    async def _keep_following(self, followers_key: str, member: str) -> None:
        args: list[Arg] = [member, self._lease_ms]
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            await self._link.attempt(
                "runs.follower",
                lambda r: self._follower(keys=[followers_key], args=args, client=r),
                None,
            )

    async def _leave(self, followers_key: str, member: str) -> None:
        await self._link.attempt(
            "runs.follower",
            lambda r: self._follower(keys=[followers_key], args=[member, 0], client=r),
            None,
        )

    def _leave_later(self, key: str, member: str) -> None:
        """Drop a follower entry the open script made for a request that joined locally."""
        task = asyncio.create_task(self._leave(self._keys(key)[3], member))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _keys(self, key: str) -> list[str]:
        """lease, events, capacity, followers: the Redis keys of one run key."""
        link = self._link
        return [
            link.key("run", key, "lease"),
            link.key("run", key, "events"),
            link.key("runs", "active"),
            link.key("run", key, "followers"),
        ]


class _StreamWriter:
    """Appends a holder's progress events to its stream in order, without blocking the run."""

    def __init__(self, link: RedisLink, events_key: str, run_id: str) -> None:
        self._link = link
        self._key = events_key
        self._run_id = run_id
        self._queue: asyncio.Queue[ProgressEvent | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._drain())

    def add(self, event: ProgressEvent) -> None:
        self._queue.put_nowait(event)

    async def close(self) -> None:
        """Write what is queued, then stop (the outcome comes after every event)."""
        self._queue.put_nowait(None)
        await self._task

    async def _drain(self) -> None:
        while (event := await self._queue.get()) is not None:
            fields = {"kind": "progress", "run": self._run_id, "data": encode(event)}
            await self._link.attempt(
                "runs.publish", functools.partial(_xadd, key=self._key, fields=fields), None
            )


async def _xadd(client: Redis, *, key: str, fields: dict[str, str]) -> Any:
    return await client.xadd(key, dict(fields), maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]


async def _finish_quietly(operation: Any) -> None:
    """Await a holder's closing write even while its task is being cancelled."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(operation)


def _failure(exc: BaseException) -> str:
    """A holder's failure as the stream carries it: what a client would have been told."""
    if isinstance(exc, ProxyError):
        return json.dumps(
            {
                "message": exc.message,
                "status": exc.status_code,
                "type": exc.error_type,
                "retry": exc.should_retry,
                "param": exc.param,
                "code": exc.code,
                "retry_after_s": exc.retry_after_s,
            }
        )
    return json.dumps({"message": f"S* run failed on another replica ({type(exc).__name__})."})


def _remote_failure(data: bytes | str) -> ProxyError:
    try:
        fields = json.loads(data)
        error = ProxyError(
            str(fields["message"]),
            param=fields.get("param"),
            code=fields.get("code"),
            retry_after_s=fields.get("retry_after_s"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"unreadable failure: {exc}") from exc
    error.status_code = int(fields.get("status", 500))
    error.error_type = str(fields.get("type", "server_error"))
    error.should_retry = fields.get("retry")
    return error


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
