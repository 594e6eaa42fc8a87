"""The worker's wire format: exact round trips, strict decoding, caps naming the field."""

from __future__ import annotations

import json

import pytest

from sandbox import ExecutionRequest, ExecutionResult, Limits, RunResult, Status
from sandbox.service.wire import (
    BatchCaps,
    InvalidBatchError,
    decode_batch,
    decode_results,
    encode_batch,
    encode_results,
    error_body,
    error_message,
)

REQUESTS = (
    ExecutionRequest("print(input())", ("a", "\ud800 lone", "é中\x00")),
    ExecutionRequest(
        "def f(a):\n    return a\n",
        ("[1]",),
        "function",
        "f",
        Limits(wall_time_s=1.5, cpu_time_s=2, memory_mb=64, processes=4),
    ),
)


def test_requests_survive_the_round_trip_exactly() -> None:
    assert decode_batch(encode_batch(REQUESTS), BatchCaps()) == REQUESTS


def test_results_survive_the_round_trip_exactly() -> None:
    results = (
        ExecutionResult(
            (
                RunResult(Status.OK, stdout="a\n", time_s=0.012345678901),
                RunResult(
                    Status.TIMEOUT, stderr="\ufffd", error="wall", time_s=1.0, truncated=True
                ),
                RunResult(Status.SANDBOX_ERROR, error="session died"),
            )
        ),
        ExecutionResult((RunResult(Status.OK, return_json='{"__repr__": "{1}"}'),)),
    )
    decoded = decode_results(
        encode_results(results),
        (ExecutionRequest("x", ("1", "2", "3")), ExecutionRequest("y", ("1",))),
    )
    assert decoded == results
    assert decoded[0].runs[0].status is Status.OK


def test_results_that_do_not_match_the_batch_are_refused() -> None:
    one = encode_results((ExecutionResult((RunResult(Status.OK),)),))
    with pytest.raises(ValueError, match="do not match"):
        decode_results(one, (ExecutionRequest("x", ("1", "2")),))
    with pytest.raises(ValueError, match="do not match"):
        decode_results(one, REQUESTS)
    for body in (b"{}", b'{"results": [{"runs": [{"status": "FINE"}]}]}', b"[", b"null"):
        with pytest.raises(ValueError, match=r"."):
            decode_results(body, (ExecutionRequest("x", ("1",)),))


def test_omitted_fields_take_the_sandbox_defaults() -> None:
    body = json.dumps({"requests": [{"program": "print(1)", "inputs": ["x"]}]}).encode()
    assert decode_batch(body, BatchCaps()) == (ExecutionRequest("print(1)", ("x",)),)


def _refusal(body: object, caps: BatchCaps | None = None) -> tuple[str | None, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(InvalidBatchError) as caught:
        decode_batch(raw, caps or BatchCaps())
    return caught.value.param, caught.value.message


def test_types_are_strict_and_unknown_fields_refused() -> None:
    program = {"program": "x", "inputs": ["1"]}
    assert _refusal({"requests": [{**program, "inputs": "1"}]})[0] == "requests[0].inputs"
    assert _refusal({"requests": [{**program, "mode": "shell"}]})[0] == "requests[0].mode"
    assert _refusal({"requests": [{**program, "limits": {"memory_mb": 1.5}}]})[0] == (
        "requests[0].limits.memory_mb"
    )
    assert _refusal({"requests": [{**program, "limits": {"wall_time_s": True}}]})[0] == (
        "requests[0].limits.wall_time_s"
    )
    assert _refusal({"requests": [{**program, "env": {}}]})[0] == "requests[0].env"
    assert _refusal({"requests": [program], "priority": 1})[0] == "priority"
    assert _refusal(b'{"requests": [{"program": "x", "inputs": [Infinity]}]}')[0] is None
    assert _refusal(b"[" * 100_000)[0] is None


def test_caps_and_maxima_name_the_field() -> None:
    caps = BatchCaps(
        max_programs=2,
        max_inputs=3,
        max_runs=4,
        max_program_bytes=10,
        max_input_bytes=5,
        max_limits=Limits(),  # the defaults are the most this worker grants
    )
    ok = {"program": "print(1)", "inputs": ["1"]}
    assert _refusal({"requests": [ok] * 3}, caps)[0] == "requests"
    assert _refusal({"requests": [{**ok, "inputs": ["1"] * 3}] * 2}, caps)[0] == "requests"
    assert _refusal({"requests": [{**ok, "inputs": ["1"] * 4}]}, caps)[0] == "requests[0].inputs"
    assert _refusal({"requests": [ok, {**ok, "program": "é" * 6}]}, caps)[0] == (
        "requests[1].program"
    )
    assert _refusal({"requests": [{**ok, "inputs": ["1", "123456"]}]}, caps)[0] == (
        "requests[0].inputs[1]"
    )
    limits = json.loads(encode_batch([ExecutionRequest("x", ())]))["requests"][0]["limits"]
    assert decode_batch(json.dumps({"requests": [{**ok, "limits": limits}]}).encode(), caps)
    looser = {**limits, "wall_time_s": 5.5}
    assert _refusal({"requests": [{**ok, "limits": looser}]}, caps) == (
        "requests[0].limits.wall_time_s",
        "wall_time_s may be at most 5.0 on this worker",
    )
    looser = {**limits, "processes": 33}
    assert _refusal({"requests": [ok, {**ok, "limits": looser}]}, caps)[0] == (
        "requests[1].limits.processes"
    )


def test_refusals_never_quote_the_program_or_inputs() -> None:
    marker = "MARKER-PROGRAM-TEXT"
    for body in (
        {"requests": [{"program": marker * 100_000, "inputs": []}]},
        {"requests": [{"program": 1, "inputs": [marker]}]},
        {"requests": [{"program": marker, "inputs": [marker], "mode": 2}]},
    ):
        param, message = _refusal(body)
        assert marker not in message
        assert marker not in (param or "")


def test_error_bodies() -> None:
    body = error_body("no", error_type="server_error", code="draining")
    assert json.loads(body) == {
        "error": {"message": "no", "type": "server_error", "param": None, "code": "draining"}
    }
    assert error_message(body) == "no"
    assert error_message(b"<html>") is None
    assert error_message(b'{"error": "flat"}') is None
