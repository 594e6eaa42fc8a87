"""Stage 2's prompt: the feedback turn with every public test's real result."""

from __future__ import annotations

from proxy.scaling.prompts.debugging import feedback_message
from proxy.scaling.types import TestOutcome


def test_feedback_lists_every_test_with_real_output_clipped() -> None:
    tests = (
        TestOutcome("1 2\n", "3", "OK", "3\n", True),
        TestOutcome("2 2\n", "4", "WRONG_ANSWER", "5\x00" + "9" * 5000, False),
        TestOutcome("[1]", None, "RUNTIME_ERROR", "RUNTIME_ERROR\nZeroDivisionError", False),
    )
    text = feedback_message(tests)
    assert text.startswith("Your program was run on the public tests and failed 2 of 3:")
    assert "Test 1: passed\nInput:\n1 2\n\nExpected output:\n3\nActual output:\n3\n" in text
    assert "Test 2: FAILED (WRONG_ANSWER)" in text
    assert "Actual output:\n5\\x00999" in text
    assert "more characters" in text
    assert "Expected output:\n(runs cleanly)" in text
    assert "ZeroDivisionError" in text
    assert text.endswith("give the complete corrected program in one ```python fenced code block.")
    assert len(text) < 3000
