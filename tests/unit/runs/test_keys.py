"""Run keys: which requests share one S* run, and whose."""

from __future__ import annotations

import dataclasses

from proxy.runs import caller_identity, run_key
from proxy.scaling.types import ScalingParams

BODY = {"model": "m", "messages": [{"role": "user", "content": "Write f(x)."}]}
PARAMS = ScalingParams()


def test_the_same_request_from_the_same_caller_is_the_same_run() -> None:
    assert run_key(dict(BODY), PARAMS, "alice") == run_key(dict(BODY), PARAMS, "alice")


def test_key_order_and_streaming_options_do_not_matter() -> None:
    reordered = {"messages": BODY["messages"], "model": "m"}
    streamed = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    key = run_key(BODY, PARAMS, "alice")
    assert run_key(reordered, PARAMS, "alice") == key
    assert run_key(streamed, PARAMS, "alice") == key


def test_another_caller_prompt_or_parameter_is_another_run() -> None:
    key = run_key(BODY, PARAMS, "alice")
    assert run_key(BODY, PARAMS, "bob") != key
    assert run_key({**BODY, "model": "sstar/m"}, PARAMS, "alice") != key
    assert run_key({**BODY, "temperature": 0.1}, PARAMS, "alice") != key
    assert run_key(BODY, dataclasses.replace(PARAMS, samples=4), "alice") != key


def test_caller_identity_hashes_whichever_credential_was_presented() -> None:
    bearer = caller_identity({"authorization": "Bearer k1"})
    assert bearer == caller_identity({"authorization": "Bearer k1"})
    assert bearer != caller_identity({"authorization": "Bearer k2"})
    assert caller_identity({"x-api-key": "k1"}) == caller_identity({"api-key": "k1"})
    assert caller_identity({}) == caller_identity({"authorization": ""})
    assert "k1" not in bearer
