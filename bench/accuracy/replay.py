"""Replaying a recorded tournament with other verdicts: which program would selection pick?

A run's trace keeps everything the tournament saw: the clusters, and per match the inputs on
which the two representatives differed with their real outputs. Judging those matches again
(another judge style, another model) and ranking the clusters exactly as selection does
(:func:`proxy.scaling.clustering.rank_clusters`: wins, then size, then public pass rate) gives
the answer the same run would have given with that judge: a paired comparison on the very same
candidates, without sampling again. Only the adaptive inputs stay those of the recorded run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bench.accuracy.misses import public_passed
from proxy.scaling.clustering import rank_clusters
from proxy.scaling.types import Cluster, CodeTask, PublicTest, Signature

MatchKey = tuple[int, int]


def trace_clusters(trace: Mapping[str, Any]) -> tuple[Cluster, ...]:
    """The run's behaviour clusters, as selection built them."""
    return tuple(
        Cluster(
            id=int(c["id"]),
            members=tuple(int(m) for m in c["members"]),
            representative=int(c["representative"]),
            signature=tuple(str(s) for s in c.get("signature") or ()),
        )
        for c in trace.get("clusters") or ()
    )


def trace_task(trace: Mapping[str, Any], *, model: str = "replay") -> CodeTask:
    """The run's task as the engine saw it: problem, kind, signature and public tests."""
    task = trace.get("task") or {}
    signature = task.get("signature")
    return CodeTask(
        problem=str(task.get("problem", "")),
        conversation=(),
        kind=task.get("kind", "function"),
        model=model,
        signature=Signature(
            name=str(signature["name"]),
            params=tuple(str(p) for p in signature.get("params") or ()),
            class_name=signature.get("class_name"),
            starter_code=signature.get("starter_code"),
        )
        if isinstance(signature, Mapping)
        else None,
        public_tests=tuple(
            PublicTest(str(t["input"]), None if t.get("expected") is None else str(t["expected"]))
            for t in task.get("public_tests") or ()
        ),
        compare_mode=task.get("compare_mode", "lcb"),
    )


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
    clusters = trace_clusters(trace)
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
