"""The JSON trace of a run, and reading it back for replays."""

from __future__ import annotations

import json

from proxy.scaling.trace import clusters_from_trace, render_trace, task_from_trace
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


def test_trace_is_json_and_carries_every_revision() -> None:
    task = CodeTask(
        problem="p",
        conversation=(),
        kind="function",
        model="m",
        signature=Signature("f", ("a",), "Solution"),
        public_tests=(PublicTest("[1]", "2"),),
    )
    revisions = (
        Revision(0, "bad", "m0", (TestOutcome("[1]", "2", "WRONG_ANSWER", "3", False),)),
        Revision(1, "good", "m1", (TestOutcome("[1]", "2", "OK", "2", True),)),
    )
    result = ScalingResult(
        program="good",
        message="```python\ngood\n```",
        usage=Usage(10, 5),
        upstream_calls=3,
        executions=4,
        selection="adaptive",
        selected=0,
        candidates=(
            Candidate(0, revisions, 1),
            Candidate(1, (Revision(0, "", "?"),), 0, "no code"),
        ),
        clusters=(Cluster(0, (0,), 0, ("OK:2",)),),
        matches=(Match(0, 1, ("[5]",), ("6",), ("7",), ("0", "none"), None),),
        synthesized_inputs=("[5]",),
        mutated_inputs=("[[2,1]]",),
        timings=(StageTiming("sample", 1.5, 1, 0, Usage(10, 5)),),
        degraded=("x",),
        reasons=("y",),
        usage_by_purpose=(("debug", Usage(4, 1)), ("sample", Usage(6, 4))),
        plan="N=2 R=1",
        plans=("N=2 R=1: instead of N=8 R=2 tournament: ...",),
        early_stop=None,
        escalations=1,
    )
    picks = (Pick("public", 1, 2.5), Pick("adaptive", 0, 9.0))
    trace = render_trace(result, task=task, params=ScalingParams(), run_id="run-1", picks=picks)
    decoded = json.loads(json.dumps(trace))
    assert decoded["id"] == "run-1"
    assert decoded["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    assert decoded["task"]["entry_point"] == "Solution.f"
    first = decoded["candidates"][0]
    assert first["best_round"] == 1
    assert [r["program"] for r in first["revisions"]] == ["bad", "good"]
    assert first["passed_public"] is True
    assert decoded["candidates"][1]["dropped_reason"] == "no code"
    assert decoded["matches"][0]["verdicts"] == ["0", "none"]
    assert decoded["clusters"][0]["signature"] == ["OK:2"]
    assert decoded["timings"][0]["usage"]["total_tokens"] == 15
    assert decoded["passed_public"] == 1
    assert decoded["mutated_inputs"] == ["[[2,1]]"]
    assert decoded["params"]["samples"] == 8
    assert decoded["picks"][0] == {"selection": "public", "candidate": 1, "elapsed_ms": 2.5}
    assert decoded["picks"][-1]["selection"] == decoded["selection"]
    assert decoded["usage_by_purpose"]["sample"]["total_tokens"] == 10
    assert set(decoded["usage_by_purpose"]) == {"debug", "sample"}
    assert decoded["plan"] == "N=2 R=1"
    assert decoded["plans"] == ["N=2 R=1: instead of N=8 R=2 tournament: ..."]
    assert (decoded["early_stop"], decoded["escalations"]) == (None, 1)
    assert decoded["timings"][0]["completed"] is True
    assert task_from_trace(decoded, model="m") == task
    assert clusters_from_trace(decoded) == result.clusters


def test_task_from_trace_rebuilds_signature_and_public_tests() -> None:
    task = task_from_trace(
        {
            "task": {
                "kind": "function",
                "problem": "p",
                "signature": {"name": "f", "params": ["a", "b"], "class_name": "Solution"},
                "public_tests": [{"input": "[1,2]", "expected": "3"}, {"input": "[0,0]"}],
            }
        },
        model="m",
    )
    assert task.signature is not None
    assert task.signature.entry_point == "Solution.f"
    assert task.signature.params == ("a", "b")
    assert [(t.input, t.expected) for t in task.public_tests] == [("[1,2]", "3"), ("[0,0]", None)]
    assert (task.kind, task.model, task.problem) == ("function", "m", "p")
    assert task_from_trace({"task": {"kind": "stdin", "problem": "q"}}).signature is None
