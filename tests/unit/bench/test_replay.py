"""Re-ranking a recorded tournament with other verdicts (``bench.accuracy.replay``)."""

from __future__ import annotations

from typing import Any

from bench.accuracy.replay import judged_matches, recorded_winners, tournament_pick


def _trace(winner: int | None, *, passed: tuple[int, int, int] = (2, 2, 2)) -> dict[str, Any]:
    """Three clusters: 0 has three members, 1 has two, 2 has one; 0 and 1 played a match."""
    members = ([0, 1, 2], [3, 4], [5])
    return {
        "selected": 0,
        "task": {"public_tests": [{"input": "1"}, {"input": "2"}]},
        "candidates": [
            {"index": m, "best_round": 0, "revisions": [{"round": 0, "passed": passed[cid]}]}
            for cid, group in enumerate(members)
            for m in group
        ],
        "clusters": [
            {"id": cid, "members": group, "representative": group[-1], "signature": [str(cid)]}
            for cid, group in enumerate(members)
        ],
        "matches": [
            {"cluster_a": 0, "cluster_b": 1, "inputs": ["7"], "winner": winner},
            {"cluster_a": 0, "cluster_b": 2, "inputs": [], "winner": None},
        ],
    }


def test_recorded_winners_give_back_the_recorded_pick() -> None:
    trace = _trace(None)
    assert tournament_pick(trace, recorded_winners(trace)) == 2  # size decides a draw
    assert recorded_winners(_trace(1)) == {(0, 1): 1, (0, 2): None}


def test_a_new_verdict_moves_the_pick_to_the_winner() -> None:
    trace = _trace(None)
    assert tournament_pick(trace, {(0, 1): 1, (0, 2): None}) == 4
    assert tournament_pick(trace, {(0, 1): 0, (0, 2): 2}) == 2  # one win each: size decides


def test_public_pass_rate_breaks_ties_of_wins_and_size() -> None:
    trace = _trace(None, passed=(2, 2, 2))
    trace["clusters"][1]["members"] = [3, 4, 5]  # now as large as cluster 0
    assert tournament_pick(trace, {}) == 2
    trace["candidates"][2]["revisions"][0]["passed"] = 1  # cluster 0's representative
    assert tournament_pick(trace, {}) == 4


def test_only_matches_with_differing_outputs_were_judged() -> None:
    assert [m["cluster_b"] for m in judged_matches(_trace(None))] == [1]


def test_a_trace_without_clusters_keeps_its_answer() -> None:
    assert tournament_pick({"selected": 5, "clusters": []}, {}) == 5
