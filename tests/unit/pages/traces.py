"""A run's trace for the page tests, written by the real ``render_trace`` (so the pages are
tested against the trace format as it is, not as a test remembers it).

Three candidates for ``add(a, b)``: #0 subtracts (wrong), #1 crashes and is repaired in debug
round 1, #2 is right. Two clusters on three inputs, one of which they agree on; one match.
"""

from __future__ import annotations

import json
from typing import Any

from proxy.scaling.trace import render_trace
from proxy.scaling.types import (
    Candidate,
    Cluster,
    CodeTask,
    Match,
    Pick,
    PublicTest,
    Revision,
    ScalingParams,
    ScalingResult,
    Signature,
    StageTiming,
    TestOutcome,
)
from proxy.upstream.base import Usage

RUN_ID = "run_0123456789abcdef0123456789abcdef"
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
CRASH = "def add(a, b):\n    return a / 0\n"
PROBLEM = "Write add(a, b) <script>alert(1)</script>\n>>> add(1, 2)\n3"


def _outcome(actual: str, passed: bool) -> TestOutcome:
    return TestOutcome("[1, 2]", "3", "OK" if passed else "WRONG_ANSWER", actual, passed)


def _revision(round_: int, program: str, outcome: TestOutcome) -> Revision:
    return Revision(round_, program, f"```python\n{program}```", (outcome,))


CANDIDATES = (
    Candidate(0, (_revision(0, WRONG, _outcome("-1", False)),), 0),
    Candidate(
        1,
        (
            _revision(0, CRASH, _outcome("ZeroDivisionError", False)),
            _revision(1, RIGHT, _outcome("3", True)),
        ),
        1,
    ),
    Candidate(2, (_revision(0, RIGHT, _outcome("3", True)),), 0),
)


def trace(**changes: Any) -> dict[str, Any]:
    """The trace document (as JSON would carry it), with top-level keys replaced."""
    task = CodeTask(
        problem=PROBLEM,
        conversation=(),
        kind="function",
        model="fake-model",
        signature=Signature("add", ("a", "b")),
        public_tests=(PublicTest("[1, 2]", "3"),),
    )
    result = ScalingResult(
        program=RIGHT,
        message=f"```python\n{RIGHT}```",
        usage=Usage(100, 50),
        upstream_calls=6,
        executions=20,
        selection="adaptive",
        selected=2,
        candidates=CANDIDATES,
        clusters=(
            Cluster(0, (1, 2), 2, ("OK:3", "OK:0", "OK:7")),
            Cluster(1, (0,), 0, ("OK:-1", "OK:0", "RUNTIME_ERROR")),
        ),
        matches=(Match(0, 1, ("[1, 2]",), ("3",), ("-1",), ("0 (A)", "0 (B)"), 0),),
        synthesized_inputs=("[1, 2]", "[0, 0]", "[3, 4]"),
        mutated_inputs=(),
        timings=(
            StageTiming("sample", 600.0, 3, 0, Usage(10, 5)),
            StageTiming("debug", 300.0, 1, 6, Usage(10, 5), completed=False),
            StageTiming("select", 100.0, 2, 14, Usage(10, 5)),
        ),
        degraded=("debugging cut short by the deadline",),
        reasons=("2 behaviour cluster(s) on 3 input(s)", "winner: cluster 0"),
        usage_by_purpose=(("sample", Usage(10, 5)), ("judge", Usage(20, 5))),
        plan="N=3 R=1 tournament",
        plans=("N=3 R=1 tournament: 1 s estimated of 60 s",),
        early_stop=None,
        escalations=0,
    )
    picks = (Pick("first", 0, 1.0), Pick("majority", 2, 2.0), Pick("adaptive", 2, 3.0))
    document = render_trace(result, task=task, params=ScalingParams(), run_id=RUN_ID, picks=picks)
    decoded: dict[str, Any] = json.loads(json.dumps(document))
    decoded.update(changes)
    return decoded
