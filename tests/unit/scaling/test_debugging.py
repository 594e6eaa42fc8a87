"""Debug feedback and the choice of the best revision."""

from __future__ import annotations

from proxy.scaling.debugging import best_round, feedback_message
from proxy.scaling.types import Revision, TestOutcome


def test_feedback_lists_every_test_with_real_output_clipped() -> None:
    tests = (
        TestOutcome("1 2\n", "3", "OK", "3\n", True),
        TestOutcome("2 2\n", "4", "WRONG_ANSWER", "5\x00" + "9" * 5000, False),
        TestOutcome("[1]", None, "RUNTIME_ERROR", "RUNTIME_ERROR\nZeroDivisionError", False),
    )
    text = feedback_message(tests)
    assert "failed 2 of 3" in text
    assert "Test 1: passed" in text
    assert "Test 2: FAILED (WRONG_ANSWER)" in text
    assert "Actual output:\n5\\x00999" in text
    assert "more characters" in text
    assert "Expected output:\n(runs cleanly)" in text
    assert "ZeroDivisionError" in text
    assert len(text) < 3000


def test_best_round_most_passed_later_wins_ties() -> None:
    def rev(round_: int, passes: int) -> Revision:
        tests = tuple(TestOutcome("", "", "OK", "", i < passes) for i in range(3))
        return Revision(round_, "p", "m", tests)

    assert best_round((rev(0, 1), rev(1, 2), rev(2, 0))) == 1
    assert best_round((rev(0, 1), rev(1, 1))) == 1
    assert best_round((rev(0, 0),)) == 0
