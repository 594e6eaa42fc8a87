"""``ClusterCoordinator``: two coordinators on one real ``redis-server`` act as two replicas.

Each coordinator has its own ``RedisLink`` (its own connections), as two processes would; the
run bodies are scripted gates, so a test decides when a run publishes, ends or fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from proxy.cluster import ClusterCoordinator, RedisLink
from proxy.errors import CapacityError, ProxyError, UpstreamRateLimitError
from proxy.metrics import Metrics
from proxy.runs import Reuse, RunFactory
from proxy.scaling.types import ProgressCallback, ProgressEvent, ScalingResult
from proxy.upstream.base import Usage
from tests.redis_server import RedisServer

LEASE_S = 0.6


def result(program: str) -> ScalingResult:
    return ScalingResult(
        program=program,
        message=f"```python\n{program}\n```",
        usage=Usage(3, 4),
        upstream_calls=2,
        executions=5,
        selection="first",
        selected=0,
        candidates=(),
        degraded=("a note",),
    )


class Replica:
    """One replica's run bodies: each start is recorded with its run id; runs wait for ``go``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.go = asyncio.Event()
        self.started: list[str] = []
        self.cancelled = 0
        self.publishers: list[ProgressCallback] = []
        self.fail_with: BaseException | None = None

    def starter(self, run_id: str) -> RunFactory:
        async def run(publish: ProgressCallback) -> ScalingResult:
            self.started.append(run_id)
            self.publishers.append(publish)
            publish(ProgressEvent("sample", f"{self.name} started"))
            try:
                await self.go.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            if self.fail_with is not None:
                raise self.fail_with
            return result(f"print('{self.name}')")

        return run


@asynccontextmanager
async def coordinator(
    server: RedisServer, *, max_active: int = 4, grace_s: float = 1.0, retry_after_s: float = 5.0
) -> AsyncIterator[ClusterCoordinator]:
    metrics = Metrics(redis=True)
    plain = RedisLink.from_url(server.url, metrics=metrics)
    link = RedisLink(plain.client, metrics=metrics, retry_after_s=retry_after_s)
    coordinator = ClusterCoordinator(
        link, max_active=max_active, grace_s=grace_s, keep_finished_s=30.0, lease_s=LEASE_S
    )
    try:
        yield coordinator
    finally:
        await coordinator.aclose()
        await link.aclose()


async def until(predicate: Callable[[], bool], within_s: float = 10.0) -> None:
    """Poll ``predicate`` (the state it reads changes in other tasks and in Redis)."""
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110 - nothing to wait on but the state itself
            await asyncio.sleep(0.02)


async def drain(queue: asyncio.Queue[ProgressEvent]) -> list[str]:
    return [queue.get_nowait().message for _ in range(queue.qsize())]


async def test_a_second_replica_joins_the_first_replicas_run(redis_server: RedisServer) -> None:
    a, b = Replica("a"), Replica("b")
    async with coordinator(redis_server) as one, coordinator(redis_server) as two:
        first = await one.open("k", "run-a", a.starter)
        await until(lambda: a.publishers != [])
        second = await two.open("k", "run-b", b.starter)
        assert second.joined
        assert not first.joined
        assert second.run_id == "run-a"
        a.publishers[0](ProgressEvent("debug", "live"))
        a.go.set()
        got = await asyncio.wait_for(second.result(), 10)
        assert got == await first.result()
        assert got.program == "print('a')"
        assert a.started == ["run-a"]
        assert b.started == []
        # The past replayed, then what came after the join, in order.
        assert await drain(second.progress) == ["a started", "live"]
        assert two.active == 0  # a follower executes nothing here
        first.release()
        second.release()


async def test_a_finished_run_is_joined_only_by_a_resend(redis_server: RedisServer) -> None:
    a, b = Replica("a"), Replica("b")
    a.go.set()
    b.go.set()
    async with coordinator(redis_server) as one, coordinator(redis_server) as two:
        done = await (await one.open("k", "run-a", a.starter)).result()
        resend = await two.open("k", "run-b", b.starter, Reuse(retry=True))
        assert resend.joined
        assert resend.run_id == "run-a"
        assert await resend.result() == done
        assert await drain(resend.progress) == ["a started"]
        assert b.started == []
        regenerate = await two.open("k", "run-c", b.starter)
        assert not regenerate.joined
        assert (await regenerate.result()).program == "print('b')"
        assert b.started == ["run-c"]
        # The Idempotency-Key names a request: the same key joins, with no retry header.
        keyed = Reuse(idempotency_key="req-1")
        await (await one.open("k", "run-d", a.starter, keyed)).result()
        again = await two.open("k", "run-e", b.starter, keyed)
        assert again.joined
        assert again.run_id == "run-d"


async def test_an_abandoned_run_keeps_going_while_another_replica_listens(
    redis_server: RedisServer,
) -> None:
    a, b = Replica("a"), Replica("b")
    async with (
        coordinator(redis_server, grace_s=0.1) as one,
        coordinator(redis_server, grace_s=0.1) as two,
    ):
        first = await one.open("k", "run-a", a.starter)
        second = await two.open("k", "run-b", b.starter)
        first.release()  # the client's first request timed out; its retry went to the other
        await asyncio.sleep(LEASE_S * 2)
        assert a.cancelled == 0
        a.go.set()
        assert (await asyncio.wait_for(second.result(), 10)).program == "print('a')"
        second.release()


async def test_an_abandoned_run_is_cancelled_once_the_remote_follower_leaves(
    redis_server: RedisServer,
) -> None:
    a, b = Replica("a"), Replica("b")
    async with (
        coordinator(redis_server, grace_s=0.1) as one,
        coordinator(redis_server, grace_s=0.1) as two,
    ):
        first = await one.open("k", "run-a", a.starter)
        second = await two.open("k", "run-b", b.starter)
        first.release()
        second.release()
        await until(lambda: a.cancelled == 1)
        assert b.started == []


async def test_the_holders_failure_reaches_the_follower_and_is_not_reused(
    redis_server: RedisServer,
) -> None:
    a, b = Replica("a"), Replica("b")
    a.fail_with = UpstreamRateLimitError("upstream said 429", retry_after_s=3.0)
    async with coordinator(redis_server) as one, coordinator(redis_server) as two:
        first = await one.open("k", "run-a", a.starter)
        second = await two.open("k", "run-b", b.starter)
        a.go.set()
        with pytest.raises(UpstreamRateLimitError):
            await first.result()
        with pytest.raises(ProxyError) as info:
            await asyncio.wait_for(second.result(), 10)
        assert info.value.message == "upstream said 429"
        assert info.value.status_code == 429
        assert info.value.retry_after_s == 3.0
        b.go.set()
        retry = await two.open("k", "run-c", b.starter, Reuse(retry=True))
        assert not retry.joined
        assert (await retry.result()).program == "print('b')"


async def test_a_holder_that_shuts_down_hands_its_run_to_the_follower(
    redis_server: RedisServer,
) -> None:
    a, b = Replica("a"), Replica("b")
    async with coordinator(redis_server) as two:
        async with coordinator(redis_server) as one:
            await one.open("k", "run-a", a.starter)
            second = await two.open("k", "run-b", b.starter)
            await until(lambda: a.started != [])
        # ``one`` closed: its run was cancelled and said so; the follower runs it, same run id.
        assert a.cancelled == 1
        await until(lambda: b.started != [])
        assert b.started == ["run-a"]
        b.go.set()
        assert (await asyncio.wait_for(second.result(), 10)).program == "print('b')"
        assert second.run_id == "run-a"


async def test_a_dead_holders_run_is_taken_over_once_after_its_lease(
    redis_server: RedisServer,
) -> None:
    a, b, c = Replica("a"), Replica("b"), Replica("c")
    async with (
        coordinator(redis_server, retry_after_s=60) as one,
        coordinator(redis_server) as two,
        coordinator(redis_server) as three,
    ):
        await one.open("k", "run-a", a.starter)
        await until(lambda: a.started != [])
        second = await two.open("k", "run-b", b.starter)
        third = await three.open("k", "run-c", c.starter)
        # ``one`` loses Redis for good (as a replica that died would): no renewal, no release.
        one._link.failed("test.partition", OSError("gone"))
        await until(lambda: len(b.started) + len(c.started) == 1, within_s=LEASE_S * 10)
        await asyncio.sleep(LEASE_S * 2)
        assert sorted(b.started + c.started) == ["run-a"]  # one new run, not one per follower
        b.go.set()
        c.go.set()
        winner = "print('b')" if b.started else "print('c')"
        assert (await asyncio.wait_for(second.result(), 10)).program == winner
        assert (await asyncio.wait_for(third.result(), 10)).program == winner


async def test_the_capacity_limit_holds_across_replicas(redis_server: RedisServer) -> None:
    a, b = Replica("a"), Replica("b")
    async with (
        coordinator(redis_server, max_active=1) as one,
        coordinator(redis_server, max_active=1) as two,
    ):
        first = await one.open("k1", "run-a", a.starter)
        with pytest.raises(CapacityError) as info:
            await two.open("k2", "run-b", b.starter)
        assert info.value.status_code == 429
        assert info.value.retry_after_s
        a.go.set()
        await first.result()
        b.go.set()
        assert (await (await two.open("k2", "run-b", b.starter)).result()).program == "print('b')"


async def test_a_dead_replicas_runs_stop_holding_capacity(redis_server: RedisServer) -> None:
    a, b = Replica("a"), Replica("b")
    async with (
        coordinator(redis_server, max_active=1, retry_after_s=60) as one,
        coordinator(redis_server, max_active=1) as two,
    ):
        await one.open("k1", "run-a", a.starter)
        with pytest.raises(CapacityError):
            await two.open("k2", "run-b", b.starter)
        one._link.failed("test.partition", OSError("gone"))
        b.go.set()
        async with asyncio.timeout(LEASE_S * 10):  # its lease runs out: then the slot is free
            while True:
                try:
                    opened = await two.open("k2", "run-b", b.starter)
                    break
                except CapacityError:
                    await asyncio.sleep(0.05)
        assert (await opened.result()).program == "print('b')"


async def test_without_redis_each_replica_runs_on_its_own(redis_server: RedisServer) -> None:
    a, b = Replica("a"), Replica("b")
    a.go.set()
    b.go.set()
    async with (
        coordinator(redis_server, max_active=1) as one,
        coordinator(redis_server, max_active=1) as two,
    ):
        redis_server.stop()
        first = await one.open("k", "run-a", a.starter)
        second = await two.open("k", "run-b", b.starter)
        assert not first.joined
        assert not second.joined
        assert (await first.result()).program == "print('a')"
        assert (await second.result()).program == "print('b')"
        # Identical requests on one replica still share; its own capacity still holds.
        a.go.clear()
        held = await one.open("k2", "run-c", a.starter)
        assert (await one.open("k2", "run-d", a.starter)).run_id == "run-c"
        with pytest.raises(CapacityError):
            await one.open("k3", "run-e", a.starter)
        a.go.set()
        await held.result()


async def test_a_follower_that_loses_redis_runs_the_request_itself(
    redis_server: RedisServer,
) -> None:
    a, b = Replica("a"), Replica("b")
    async with coordinator(redis_server) as one, coordinator(redis_server) as two:
        await one.open("k", "run-a", a.starter)
        second = await two.open("k", "run-b", b.starter)
        await until(lambda: not second.progress.empty())
        redis_server.stop()
        await until(lambda: b.started != [])
        assert b.started == ["run-a"]  # the id its client was told
        b.go.set()
        assert (await asyncio.wait_for(second.result(), 10)).program == "print('b')"
        a.go.set()
