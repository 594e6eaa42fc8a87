"""RunStore: the bounded store of recent run traces, each readable by its owner only."""

from __future__ import annotations

from proxy.runs import RunStore


async def test_run_store_evicts_the_oldest() -> None:
    store = RunStore(capacity=2)
    await store.put("a", {"n": 1}, owner="o")
    await store.put("b", {"n": 2}, owner="o")
    await store.put("c", {"n": 3}, owner="o")
    assert await store.get("a", owner="o") is None
    assert await store.get("c", owner="o") == {"n": 3}
    assert len(store) == 2


async def test_only_the_owner_reads_a_trace_and_a_stranger_sees_an_unknown_id() -> None:
    store = RunStore(capacity=4)
    await store.put("a", {"n": 1}, owner="alice")
    assert await store.get("a", owner="alice") == {"n": 1}
    assert await store.get("a", owner="bob") is None
    assert await store.get("a", owner="bob") == await store.get("unknown", owner="bob")
    assert await store.get("a", owner="") is None
    # None: the edge already allowed this reader every trace (no client keys configured).
    assert await store.get("a", owner=None) == {"n": 1}


async def test_capacity_zero_keeps_nothing() -> None:
    store = RunStore(capacity=0)
    await store.put("a", {"n": 1}, owner="alice")
    assert len(store) == 0
    assert await store.get("a", owner=None) is None
