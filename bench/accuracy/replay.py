"""Replaying a recorded tournament with other verdicts: which program would selection pick?

A run's trace keeps everything the tournament saw: the clusters, and per match the inputs on
which the two representatives differed with their real outputs. Judging those matches again
(another judge style, another model) and ranking the clusters exactly as selection does
(:func:`proxy.scaling.replay.rank_clusters`: wins, then size, then public pass rate) gives
the answer the same run would have given with that judge: a paired comparison on the very same
candidates, without sampling again. Only the adaptive inputs stay those of the recorded run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bench.accuracy.misses import public_passed
from proxy.scaling.replay import clusters_from_trace, rank_clusters

MatchKey = tuple[int, int]


def match_key(match: Mapping[str, Any]) -> MatchKey:
    return int(match["cluster_a"]), int(match["cluster_b"])


def recorded_winners(trace: Mapping[str, Any]) -> dict[MatchKey, int | None]:
    """Each recorded match's winning cluster id (``None``: a draw)."""
    return {match_key(m): m.get("winner") for m in trace.get("matches") or ()}


def tournament_pick(trace: Mapping[str, Any], winners: Mapping[MatchKey, int | None]) -> int:
    """The candidate selection answers with, given each match's winner.

    With :func:`recorded_winners` this is the trace's own ``selected`` (a check that the replay
    ranks as selection does).
    """
    clusters = clusters_from_trace(trace)
    if not clusters:
        return int(trace["selected"])
    passed = {int(c["index"]): public_passed(c) for c in trace.get("candidates") or ()}
    total = max(1, len(trace.get("task", {}).get("public_tests") or ()))
    rate = {c.id: passed.get(c.representative, 0) / total for c in clusters}
    wins = Counter(w for w in winners.values() if w is not None)
    return rank_clusters(clusters, wins=wins, public_rate=rate)[0].representative


def judged_matches(trace: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The matches whose programs' outputs differed, so a judge was asked."""
    return [m for m in trace.get("matches") or () if m.get("inputs")]
