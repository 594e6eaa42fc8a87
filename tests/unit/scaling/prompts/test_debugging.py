"""Stage 2's prompt: the feedback turn on the failed public tests, with real results."""

from __future__ import annotations

from proxy.scaling.prompts.debugging import MAX_SHOWN_FAILURES, feedback_message
from proxy.scaling.types import TestOutcome


def test_feedback_shows_only_the_failed_tests_with_real_output_clipped() -> None:
    tests = (
        TestOutcome("1 2\n", "3", "OK", "3\n", True),
        TestOutcome("2 2\n", "4", "WRONG_ANSWER", "5\x00" + "9" * 5000, False),
        TestOutcome("[1]", None, "RUNTIME_ERROR", "RUNTIME_ERROR\nZeroDivisionError", False),
    )
    text = feedback_message(tests)
    assert text.startswith("Your program was run on the public tests and failed 2 of 3:")
    assert "Test 1" not in text  # a passing test teaches nothing and costs prefill
    assert "Test 2: FAILED (WRONG_ANSWER)\nInput:\n2 2\n\nExpected output:\n4\n" in text
    assert "Actual output:\n5\\x00999" in text
    assert "more characters" in text
    assert "Test 3: FAILED (RUNTIME_ERROR)" in text
    assert "Expected output:\n(runs cleanly)" in text
    assert "ZeroDivisionError" in text
    assert text.endswith("give the complete corrected program in one ```python fenced code block.")
    assert len(text) < 1500


def test_feedback_shows_at_most_a_few_failures() -> None:
    tests = tuple(TestOutcome(f"{i}\n", "0", "WRONG_ANSWER", "1", False) for i in range(7))
    text = feedback_message(tests)
    assert text.count("FAILED (WRONG_ANSWER)") == MAX_SHOWN_FAILURES
    assert f"(and {7 - MAX_SHOWN_FAILURES} more failed tests)" in text
    assert "failed 7 of 7" in text
