"""Tournament scheduling and judge answer parsing (games themselves: integration tests)."""

from __future__ import annotations

import pytest

from proxy.scaling.tournament import parse_verdict, schedule_pairs
from proxy.scaling.types import Cluster


def cluster(id_: int, size: int) -> Cluster:
    return Cluster(id_, tuple(range(id_ * 10, id_ * 10 + size)), id_ * 10, ())


def test_pairs_largest_clusters_first_and_capped() -> None:
    clusters = [cluster(0, 4), cluster(1, 2), cluster(2, 1), cluster(3, 1)]
    assert schedule_pairs(clusters, 10) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert schedule_pairs(clusters, 2) == [(0, 1), (0, 2)]
    assert schedule_pairs(clusters, 0) == []
    assert schedule_pairs(clusters[:1], 6) == []


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Program B prints 7.\nAnswer: B", "B"),
        ("**Answer:** A", "A"),
        ("Answer: `A`", "A"),
        ("answer: program b", "B"),
        ("<think>Answer: A</think>Final answer: B", "B"),
        ("Answer: A ... on reflection Answer: B", "B"),
        ("**Answer**: B", "B"),
        ("The answer is A.", "A"),
        ("Final Answer: **Program B**", "B"),
        ("Both are wrong.", None),
        ("Answer: both", None),
        ("", None),
    ],
)
def test_parse_verdict(text: str, verdict: str | None) -> None:
    assert parse_verdict(text) == verdict
