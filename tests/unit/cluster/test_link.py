"""``RedisLink`` against a real ``redis-server``: operations pass, an outage falls back and is
counted once per failure, the link stays away for its window and comes back when Redis does."""

from __future__ import annotations

from prometheus_client import generate_latest
from redis.asyncio import Redis

from proxy.cluster import RedisLink
from proxy.metrics import Metrics
from tests.redis_server import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def scrape(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


async def test_an_operation_reaches_redis_and_keys_carry_the_prefix(redis_server: RedisServer):
    link = RedisLink.from_url(redis_server.url, prefix="team-a:")
    try:
        key = link.key("trace", "run_1")
        assert key == "team-a:trace:run_1"
        assert await link.attempt("test.set", lambda r: r.set(key, b"x"), False) is True
        with redis_server.client() as client:
            assert client.get("team-a:trace:run_1") == b"x"
        assert link.up
        assert await link.ping()
    finally:
        await link.aclose()


async def test_an_outage_falls_back_then_redis_comes_back(redis_server: RedisServer):
    metrics = Metrics(redis=True)
    clock = Clock()
    link = RedisLink.from_url(redis_server.url, metrics=metrics)
    link = RedisLink(link.client, metrics=metrics, retry_after_s=5.0, clock=clock)
    calls: list[str] = []

    async def counted(client: Redis) -> int:
        calls.append("called")
        return await client.incr("n")

    try:
        assert await link.attempt("test.incr", counted, -1) == 1
        redis_server.stop()
        assert await link.attempt("test.incr", counted, -1) == -1
        assert not link.up
        text = scrape(metrics)
        assert "sstar_redis_up 0.0" in text
        assert 'sstar_redis_errors_total{operation="test.incr"} 1.0' in text
        # Within the window nothing is tried: the fallback comes at once, counted as skipped.
        tried = len(calls)
        assert await link.attempt("test.incr", counted, -1) == -1
        assert len(calls) == tried
        assert 'sstar_redis_errors_total{operation="test.incr"} 2.0' in scrape(metrics)
        redis_server.start()
        clock.now += 5.0
        assert await link.attempt("test.incr", counted, -1) == 1  # a fresh server: n starts again
        assert link.up
        assert "sstar_redis_up 1.0" in scrape(metrics)
    finally:
        await link.aclose()


async def test_without_redis_configured_no_up_gauge_is_exported():
    assert "sstar_redis_up" not in scrape(Metrics())
    assert "sstar_redis_up 1.0" in scrape(Metrics(redis=True))
