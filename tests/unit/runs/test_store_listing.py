"""RunStore.recent and RunStore.owner: the runs page lists an owner's runs, newest first."""

from __future__ import annotations

from proxy.runs import RunStore


async def test_recent_lists_only_the_owners_runs_newest_first_with_when_they_were_stored() -> None:
    store = RunStore(capacity=8)
    await store.put("a", {"n": 1}, owner="alice", stored_at=10.0)
    await store.put("b", {"n": 2}, owner="bob", stored_at=11.0)
    await store.put("c", {"n": 3}, owner="alice", stored_at=12.0)
    mine = await store.recent(owner="alice")
    assert [(r.run_id, r.trace, r.stored_at) for r in mine] == [
        ("c", {"n": 3}, 12.0),
        ("a", {"n": 1}, 10.0),
    ]
    assert [r.run_id for r in await store.recent(owner="bob")] == ["b"]
    assert await store.recent(owner="carol") == ()
    # None: a reader the edge allowed every trace lists every run
    assert [r.run_id for r in await store.recent(owner=None)] == ["c", "b", "a"]


async def test_evicted_runs_leave_the_listing_and_lose_their_owner() -> None:
    store = RunStore(capacity=2)
    for run_id in ("a", "b", "c"):
        await store.put(run_id, {}, owner="alice")
    assert [r.run_id for r in await store.recent(owner="alice")] == ["c", "b"]
    assert await store.owner("a") is None
    assert await store.owner("c") == "alice"
    assert store.capacity == 2


async def test_stored_at_defaults_to_the_clock() -> None:
    store = RunStore(capacity=1)
    await store.put("a", {}, owner="o")
    (run,) = await store.recent(owner="o")
    assert run.stored_at > 1_600_000_000
