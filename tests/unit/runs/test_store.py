"""RunStore: the bounded store of recent run traces."""

from __future__ import annotations

from proxy.runs import RunStore


def test_run_store_evicts_the_oldest() -> None:
    store = RunStore(capacity=2)
    store.put("a", {"n": 1})
    store.put("b", {"n": 2})
    store.put("c", {"n": 3})
    assert store.get("a") is None
    assert store.get("c") == {"n": 3}
    assert len(store) == 2
