"""Stage 2's prompt: the feedback turn on the public tests a program failed, with real results.

Only the failing tests are shown (at most ``MAX_SHOWN_FAILURES``, each field trimmed): on a CPU
server every prompt token costs prefill time, and the passing tests teach the model nothing. The
reply is a revised program, found by ``proxy.scaling.programs`` like any answer.
"""

from __future__ import annotations

from proxy.scaling.prompts import clip
from proxy.scaling.types import TestOutcome

DEBUG_FEEDBACK = (
    "Your program was run on the public tests and failed {failed} of {total}:\n\n{tests}\n\n"
    "Find the bug and give the complete corrected program in one ```python fenced code block."
)

DEBUG_TEST = (
    "Test {number}: FAILED ({status})\nInput:\n{input}\nExpected output:\n{expected}\n"
    "Actual output:\n{actual}"
)

MAX_SHOWN_FAILURES = 3
_FIELD_CLIP = 400
_EXPECTED_CLIP = 300


def feedback_message(tests: tuple[TestOutcome, ...]) -> str:
    """The feedback turn: the failed tests (the first few), expected and real actual output."""
    failed = [(number, test) for number, test in enumerate(tests, start=1) if not test.passed]
    items = [
        DEBUG_TEST.format(
            number=number,
            status=test.status,
            input=clip(test.input, _FIELD_CLIP),
            expected=clip(
                test.expected if test.expected is not None else "(runs cleanly)", _EXPECTED_CLIP
            ),
            actual=clip(test.actual, _FIELD_CLIP),
        )
        for number, test in failed[:MAX_SHOWN_FAILURES]
    ]
    if len(failed) > MAX_SHOWN_FAILURES:
        items.append(f"(and {len(failed) - MAX_SHOWN_FAILURES} more failed tests)")
    return DEBUG_FEEDBACK.format(failed=len(failed), total=len(tests), tests="\n\n".join(items))
