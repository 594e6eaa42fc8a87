"""``RedisTraceStore`` against a real ``redis-server``: traces are shared with the owner rule of
the in-memory store, bounded and expiring in Redis, and kept locally through an outage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import ValidationError

from proxy.cli import main
from proxy.cluster import RedisLink
from proxy.cluster.traces import RedisTraceStore
from proxy.metrics import Metrics
from proxy.runs import RunStore
from proxy.settings import Settings
from tests.redis_server import RedisServer

TTL_S = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def links(redis_server: RedisServer) -> AsyncIterator[Callable[..., RedisLink]]:
    """Links to the test's Redis (one per replica), closed afterwards."""
    opened: list[RedisLink] = []

    def make(*, clock: Callable[[], float] | None = None) -> RedisLink:
        base = RedisLink.from_url(redis_server.url, prefix="t:")
        link = RedisLink(
            base.client, prefix="t:", metrics=Metrics(redis=True), clock=clock or Clock()
        )
        opened.append(link)
        return link

    yield make
    for link in opened:
        await link.aclose()


def store(link: RedisLink, capacity: int = 8) -> RedisTraceStore:
    return RedisTraceStore(link, RunStore(capacity), ttl_s=TTL_S)


async def test_a_trace_put_by_one_replica_is_read_by_another(links):
    a, b = store(links()), store(links())
    await a.put("run_1", {"id": "run_1", "program": "print(1)"}, owner="alice")
    assert await b.get("run_1", owner="alice") == {"id": "run_1", "program": "print(1)"}
    assert await b.owner("run_1") == "alice"
    assert await b.get("run_1", owner=None) == {"id": "run_1", "program": "print(1)"}


async def test_a_stranger_reads_nothing_exactly_as_for_an_unknown_id(links):
    a, b = store(links()), store(links())
    await a.put("run_1", {"n": 1}, owner="alice")
    assert await b.get("run_1", owner="bob") is None
    assert await b.get("run_1", owner="") is None
    assert await b.get("run_unknown", owner="bob") is None
    assert await b.owner("run_unknown") is None
    assert await b.recent(owner="bob") == ()


async def test_an_owner_lists_its_runs_newest_first_bounded_by_the_capacity(links):
    a, b = store(links(), capacity=3), store(links(), capacity=3)
    for i, owner in enumerate(["alice", "bob", "alice", "alice", "alice"]):
        await a.put(f"run_{i}", {"n": i}, owner=owner, stored_at=100.0 + i)
    mine = await b.recent(owner="alice")
    # Redis holds at most 3 traces in all (run_0, alice's oldest, and run_1, bob's, fell out).
    assert [run.run_id for run in mine] == ["run_4", "run_3", "run_2"]
    assert [run.stored_at for run in mine] == [104.0, 103.0, 102.0]
    assert mine[0].trace == {"n": 4}
    assert await b.recent(owner="bob") == ()
    assert [run.run_id for run in await b.recent(owner=None)] == ["run_4", "run_3", "run_2"]
    assert await b.get("run_0", owner="alice") is None


async def test_redis_holds_at_most_the_capacity_and_every_key_expires(links, redis_server):
    a = store(links(), capacity=2)
    for i in range(4):
        await a.put(f"run_{i}", {"n": i}, owner="alice", stored_at=100.0 + i)
    with redis_server.client() as client:
        keys = sorted(key.decode() for key in client.keys("t:*"))
        assert keys == ["t:owner:alice", "t:trace:run_2", "t:trace:run_3", "t:traces"]
        for key in keys:
            assert 0 < client.ttl(key) <= TTL_S
        assert client.zcard("t:owner:alice") == 2
        assert client.hget("t:trace:run_3", "owner") == b"alice"


async def test_capacity_zero_keeps_nothing_anywhere(links, redis_server):
    a = store(links(), capacity=0)
    await a.put("run_1", {"n": 1}, owner="alice")
    assert await a.get("run_1", owner=None) is None
    assert await a.recent(owner=None) == ()
    with redis_server.client() as client:
        assert client.keys("t:*") == []


async def test_a_trace_expired_in_redis_is_gone_for_other_replicas_and_leaves_the_listing(
    links, redis_server
):
    a, b = store(links()), store(links())
    await a.put("run_1", {"n": 1}, owner="alice", stored_at=100.0)
    await a.put("run_2", {"n": 2}, owner="alice", stored_at=101.0)
    with redis_server.client() as client:
        client.delete("t:trace:run_1")  # as its TTL would
    assert await b.get("run_1", owner="alice") is None
    assert [run.run_id for run in await b.recent(owner="alice")] == ["run_2"]
    with redis_server.client() as client:
        assert client.zrange("t:owner:alice", 0, -1) == [b"run_2"]  # the stale entry pruned
    # the replica that made it still has it in its own memory, as without Redis
    assert await a.get("run_1", owner="alice") == {"n": 1}


async def test_an_outage_keeps_traces_local_and_redis_gets_new_ones_when_back(links, redis_server):
    clock = Clock()
    a, b = store(links(clock=clock)), store(links(clock=clock))
    await a.put("run_before", {"n": 0}, owner="alice", stored_at=100.0)
    redis_server.stop()
    await a.put("run_during", {"n": 1}, owner="alice", stored_at=101.0)  # no exception
    assert await a.get("run_during", owner="alice") == {"n": 1}
    assert await a.get("run_during", owner="bob") is None
    assert await a.owner("run_during") == "alice"
    assert [r.run_id for r in await a.recent(owner="alice")] == ["run_during", "run_before"]
    assert await b.get("run_before", owner="alice") is None  # b never had it locally
    redis_server.start()  # a fresh, empty Redis
    clock.now += 10.0  # past the outage window: Redis is tried again
    await a.put("run_after", {"n": 2}, owner="alice", stored_at=102.0)
    assert await b.get("run_after", owner="alice") == {"n": 2}
    assert await b.get("run_during", owner="alice") is None  # made during the outage: local
    assert await a.get("run_during", owner="alice") == {"n": 1}
    # a lists Redis's runs and its own; b lists Redis's
    assert [r.run_id for r in await a.recent(owner="alice")] == [
        "run_after",
        "run_during",
        "run_before",
    ]
    assert [r.run_id for r in await b.recent(owner="alice")] == ["run_after"]


async def test_an_entry_not_written_by_the_store_is_read_as_absent(links, redis_server):
    b = store(links())
    with redis_server.client() as client:
        client.hset("t:trace:run_x", mapping={"owner": "alice", "stored_at": "1", "trace": "[1]"})
        client.hset("t:trace:run_y", mapping={"owner": "alice", "stored_at": "x", "trace": "{}"})
    assert await b.get("run_x", owner="alice") is None
    assert await b.get("run_y", owner="alice") is None


def test_redis_without_a_trace_secret_is_refused_without_echoing_the_url(monkeypatch, capsys):
    url = "redis://:hunter2-password@redis.example:6379/0"
    with pytest.raises(ValidationError, match="trace_secret"):
        Settings(redis_url=url)
    monkeypatch.setenv("SSTAR_REDIS_URL", url)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SSTAR_TRACE_SECRET" in err
    assert "hunter2" not in err
    monkeypatch.setenv("SSTAR_TRACE_SECRET", "0123456789abcdef")
    settings = Settings()
    assert settings.redis_url_value() == url
    assert settings.trace_ttl_s == 86400.0


@pytest.mark.parametrize("ttl", ["0", "-1", str(31 * 86400)])
def test_the_trace_ttl_is_positive_and_bounded(monkeypatch, ttl):
    monkeypatch.setenv("SSTAR_TRACE_TTL_S", ttl)
    with pytest.raises(ValidationError, match="trace_ttl_s"):
        Settings()


def test_a_redis_url_of_another_scheme_is_refused_without_echoing_it(monkeypatch, capsys):
    monkeypatch.setenv("SSTAR_TRACE_SECRET", "0123456789abcdef")
    monkeypatch.setenv("SSTAR_REDIS_URL", "http://:hunter2-password@redis.example:6379")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "redis://" in err
    assert "hunter2" not in err
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "hunter2" not in str(caught.value)
    monkeypatch.setenv("SSTAR_REDIS_URL", "unix:///run/redis.sock")
    assert Settings().redis_url_value() == "unix:///run/redis.sock"


@pytest.mark.parametrize("prefix", ["", "a b:", "x" * 65])
def test_the_key_prefix_is_short_and_plain(prefix):
    with pytest.raises(ValidationError, match="redis_prefix"):
        Settings(redis_prefix=prefix)
