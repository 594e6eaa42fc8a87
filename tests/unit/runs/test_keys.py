"""Run keys: which requests share one S* run, and whose."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

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


def test_caller_identity_is_a_keyed_hash_of_the_presented_key() -> None:
    secret = b"s" * 32
    k1 = caller_identity(b"k1", secret)
    assert k1 == caller_identity(b"k1", secret)
    assert k1 != caller_identity(b"k2", secret)
    assert caller_identity(None, secret) == caller_identity(b"", secret)  # anonymous callers
    # Keyed: another server secret gives another identity, and no plain hash of the key exists.
    assert k1 != caller_identity(b"k1", b"t" * 32)
    assert k1 != hashlib.sha256(b"k1").hexdigest()
    assert k1 == hmac.new(secret, b"k1", hashlib.sha256).hexdigest()
