"""The benchmark client: S* headers per mode, trace parsing, and a round trip to a fake proxy."""

from __future__ import annotations

import pytest

from bench.accuracy.client import (
    ProxyClient,
    ScalingOptions,
    TracePick,
    candidate_programs,
    mode_headers,
    trace_picks,
    trace_stages,
)
from tests.unit.bench.fake_proxy import Reply, serve_fake_proxy


def test_plain_turns_scaling_off_and_other_modes_force_it():
    options = ScalingOptions(samples=4, rounds=1, temperature=0.7, token_budget=9000)
    assert mode_headers("plain", options) == {"x-sstar-mode": "off"}
    headers = mode_headers("adaptive", options)
    assert headers["x-sstar-mode"] == "force"
    assert headers["x-sstar-selection"] == "adaptive"
    assert headers["x-sstar-samples"] == "4"
    assert headers["x-sstar-rounds"] == "1"
    assert headers["x-sstar-temperature"] == "0.7"
    assert headers["x-sstar-max-tokens"] == "9000"
    assert "x-sstar-deadline-ms" not in headers
    with pytest.raises(ValueError, match="unknown mode"):
        mode_headers("best", options)


def test_candidate_programs_take_each_best_revision():
    trace = {
        "candidates": [
            {"index": 0, "best_round": 0, "revisions": [{"round": 0, "program": "a"},
                                                         {"round": 1, "program": "b"}]},
            {"index": 1, "best_round": 7, "revisions": [{"round": 0, "program": "c"},
                                                         {"round": 1, "program": "d"}]},
            {"index": 2, "revisions": []},
            {"index": 3, "best_round": 0,
             "revisions": [{"round": 0, "program": "```python\nprint(1)\n```"}]},
        ],
        "selected": {"index": 1},
    }  # fmt: skip
    assert candidate_programs(trace) == ({0: "a", 1: "d", 3: "print(1)\n"}, 1)
    assert candidate_programs({"candidates": [], "selected": None}) == ({}, None)


def test_trace_picks_read_each_mode_and_skip_malformed_entries():
    usage = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}
    trace = {
        "picks": [
            {"selection": "public", "candidate": 3, "elapsed_ms": 1500.0, "usage": usage},
            {"selection": "majority", "elapsed_ms": 9.0, "usage": usage},  # no candidate
            {"selection": "adaptive", "candidate": "x", "elapsed_ms": 1.0},
        ]
    }
    assert trace_picks(trace) == (TracePick("public", 3, 1.5, 30, 12),)
    assert trace_picks({}) == ()


async def test_round_trip_through_a_proxy_with_traces():
    def script(message: str, headers: dict[str, str]) -> Reply:
        assert message == "Solve it."
        pick = {"selection": "public", "candidate": 1, "elapsed_ms": 250.0, "usage": {}}
        return Reply(
            answer="```python\nprint(2)\n```",
            candidates=["print(1)\n", "print(2)\n"],
            picks=[pick],
        )

    with serve_fake_proxy(script) as proxy:
        client = ProxyClient(base_url=proxy.base_url, max_tokens=321)
        try:
            scaled = await client.attempt("Solve it.", "majority", ScalingOptions(samples=2))
            plain = await client.attempt("Solve it.", "plain", ScalingOptions())
        finally:
            await client.aclose()
    assert scaled.error is None
    assert scaled.applied is True
    assert scaled.reason == "forced"
    assert scaled.candidates == {0: "print(1)\n", 1: "print(2)\n"}
    assert scaled.selected == 0
    assert scaled.picks == (TracePick("public", 1, 0.25, 0, 0),)
    assert (scaled.prompt_tokens, scaled.completion_tokens) == (100, 50)
    assert scaled.wall_s > 0
    assert plain.applied is False
    assert plain.candidates == {}
    first, second = proxy.requests
    assert first["body"]["model"] == "fake-coder"
    assert first["body"]["max_tokens"] == 321
    assert "temperature" not in first["body"]  # S* samples at its own temperature
    assert first["headers"]["x-sstar-selection"] == "majority"
    assert second["body"]["temperature"] == 0.0
    assert second["headers"]["x-sstar-mode"] == "off"


async def test_api_errors_become_failed_attempts():
    with serve_fake_proxy(lambda message, headers: Reply(answer="", status=500)) as proxy:
        client = ProxyClient(base_url=proxy.base_url, model="m")
        try:
            attempt = await client.attempt("x", "adaptive", ScalingOptions())
        finally:
            await client.aclose()
    assert attempt.error is not None
    assert attempt.error.startswith("InternalServerError: ")  # the SDK's class for a 500
    assert "boom" in attempt.error  # the proxy's own message is kept


def test_trace_stages_say_which_stages_finished() -> None:
    trace = {
        "timings": [{"stage": "sample", "completed": True}, {"stage": "debug", "completed": False}]
    }
    assert trace_stages(trace) == {"sample": True, "debug": False}
    assert trace_stages({"timings": [{"stage": "sample"}]}) is None  # a trace before planning
    assert trace_stages(None) is None
