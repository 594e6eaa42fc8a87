"""RunStore: the bounded store of recent run traces, each readable by its owner only."""

from __future__ import annotations

from proxy.runs import RunStore


def test_run_store_evicts_the_oldest() -> None:
    store = RunStore(capacity=2)
    store.put("a", {"n": 1}, owner="o")
    store.put("b", {"n": 2}, owner="o")
    store.put("c", {"n": 3}, owner="o")
    assert store.get("a", owner="o") is None
    assert store.get("c", owner="o") == {"n": 3}
    assert len(store) == 2


def test_only_the_owner_reads_a_trace_and_a_stranger_sees_an_unknown_id() -> None:
    store = RunStore(capacity=4)
    store.put("a", {"n": 1}, owner="alice")
    assert store.get("a", owner="alice") == {"n": 1}
    assert store.get("a", owner="bob") is None
    assert store.get("a", owner="bob") == store.get("unknown", owner="bob")
    assert store.get("a", owner="") is None
    # None: the edge already allowed this reader every trace (no client keys configured).
    assert store.get("a", owner=None) == {"n": 1}


def test_capacity_zero_keeps_nothing() -> None:
    store = RunStore(capacity=0)
    store.put("a", {"n": 1}, owner="alice")
    assert len(store) == 0
    assert store.get("a", owner=None) is None
