"""Stage 2's prompt: the feedback turn listing every public test with its real result.

The reply is a revised program, found by ``proxy.scaling.programs`` like any answer.
"""

from __future__ import annotations

from proxy.scaling.prompts import clip
from proxy.scaling.types import TestOutcome

DEBUG_FEEDBACK = (
    "Your program was run on the public tests and failed {failed} of {total}:\n\n{tests}\n\n"
    "Find the bug and give the complete corrected program in one ```python fenced code block."
)

DEBUG_TEST = (
    "Test {number}: {verdict}\nInput:\n{input}\nExpected output:\n{expected}\n"
    "Actual output:\n{actual}"
)

_FIELD_CLIP = 600
_EXPECTED_CLIP = 300


def feedback_message(tests: tuple[TestOutcome, ...]) -> str:
    """The feedback turn: every public test, its expected and its real actual output."""
    items = [
        DEBUG_TEST.format(
            number=number,
            verdict="passed" if test.passed else f"FAILED ({test.status})",
            input=clip(test.input, _FIELD_CLIP),
            expected=clip(
                test.expected if test.expected is not None else "(runs cleanly)", _EXPECTED_CLIP
            ),
            actual=clip(test.actual, _FIELD_CLIP),
        )
        for number, test in enumerate(tests, start=1)
    ]
    failed = sum(not t.passed for t in tests)
    return DEBUG_FEEDBACK.format(failed=failed, total=len(tests), tests="\n\n".join(items))
