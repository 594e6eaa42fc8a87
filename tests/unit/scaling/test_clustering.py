"""Behaviour clusters and deterministic ranking."""

from __future__ import annotations

from proxy.scaling.clustering import Behaviour, cluster_behaviours, rank_clusters, representative


def b(index: int, signature: tuple[str, ...], *, members=None, passed=0, time_s=0.1) -> Behaviour:
    return Behaviour(index, members or (index,), passed, time_s, signature)


def test_clusters_group_exact_signatures_largest_first() -> None:
    clusters = cluster_behaviours(
        [
            b(0, ("OK:1", "OK:2")),
            b(1, ("OK:1", "TIMEOUT")),
            b(2, ("OK:1", "TIMEOUT"), members=(2, 5)),
            b(3, ("OK:1", "OK:2 ")),
        ]
    )
    assert [c.members for c in clusters] == [(1, 2, 5), (0,), (3,)]
    assert [c.id for c in clusters] == [0, 1, 2]
    assert clusters[0].signature == ("OK:1", "TIMEOUT")


def test_crash_and_timeout_are_values_of_their_own() -> None:
    clusters = cluster_behaviours([b(0, ("RUNTIME_ERROR",)), b(1, ("TIMEOUT",)), b(2, ("OK:",))])
    assert len(clusters) == 3


def test_representative_most_passes_then_most_copies_then_fastest_then_lowest_index() -> None:
    group = [b(3, (), passed=2, time_s=0.5), b(1, (), passed=2, time_s=0.2), b(0, (), passed=1)]
    assert representative(group).index == 1
    tie = [b(4, (), passed=2, time_s=0.2), b(2, (), passed=2, time_s=0.2)]
    assert representative(tie).index == 2
    copied = [b(1, (), passed=2, time_s=0.1), b(5, (), members=(5, 6), passed=2, time_s=0.3)]
    assert representative(copied).index == 5
    assert representative([*copied, b(0, (), members=(0, 2, 3), passed=1)]).index == 5


def test_rank_wins_then_size_then_public_rate_then_lowest_index() -> None:
    big, small, other = cluster_behaviours(
        [b(0, ("a",), members=(0, 1, 2)), b(3, ("b",)), b(4, ("c",))]
    )
    assert rank_clusters([big, small, other], wins={}, public_rate={})[0] is big
    assert rank_clusters([big, small], wins={small.id: 1}, public_rate={})[0] is small
    by_rate = rank_clusters([small, other], wins={}, public_rate={other.id: 0.5})
    assert by_rate[0] is other
    assert rank_clusters([other, small], wins={}, public_rate={})[0] is small
