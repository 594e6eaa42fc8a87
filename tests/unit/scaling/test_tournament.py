"""Tournament scheduling and verdicts (games themselves: integration tests)."""

from __future__ import annotations

import pytest

from proxy.scaling.tournament import decide, first_wins, schedule_pairs
from proxy.scaling.types import Cluster


def cluster(id_: int, size: int) -> Cluster:
    return Cluster(id_, tuple(range(id_ * 10, id_ * 10 + size)), id_ * 10, ())


def test_pairs_largest_clusters_first_and_capped() -> None:
    clusters = [cluster(0, 4), cluster(1, 2), cluster(2, 1), cluster(3, 1)]
    assert schedule_pairs(clusters, 10) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert schedule_pairs(clusters, 2) == [(0, 1), (0, 2)]
    assert schedule_pairs(clusters, 0) == []
    assert schedule_pairs(clusters[:1], 6) == []


def test_decide_averages_both_orders_and_cancels_a_position_bias() -> None:
    # always "A", but less surely when the second program is shown first
    assert decide(0.9, 0.7) == pytest.approx(0.6)
    assert decide(0.7, 0.9) == pytest.approx(0.4)
    assert decide(1.0, 1.0) == 0.5  # reasoned and inconsistent: a draw
    assert decide(1.0, 0.0) == 1.0  # reasoned and consistent
    assert decide(None, 0.3) is None


def test_first_wins_needs_a_margin_over_even() -> None:
    assert first_wins(0.9, 0.7) is True
    assert first_wins(0.7, 0.9) is False
    assert first_wins(0.69, 0.68) is None  # 0.505: within the margin, a draw
    assert first_wins(None, 0.1) is None
