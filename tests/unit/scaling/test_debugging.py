"""The choice of the best revision (debugging runs: integration tests)."""

from __future__ import annotations

from proxy.scaling.debugging import best_round
from proxy.scaling.types import Revision, TestOutcome


def test_best_round_most_passed_later_wins_ties() -> None:
    def rev(round_: int, passes: int) -> Revision:
        tests = tuple(TestOutcome("", "", "OK", "", i < passes) for i in range(3))
        return Revision(round_, "p", "m", tests)

    assert best_round((rev(0, 1), rev(1, 2), rev(2, 0))) == 1
    assert best_round((rev(0, 1), rev(1, 1))) == 1
    assert best_round((rev(0, 0),)) == 0
