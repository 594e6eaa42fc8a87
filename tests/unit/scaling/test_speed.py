"""The speed model: priors per upstream kind, corrected from finished calls."""

from __future__ import annotations

import math

import pytest

from proxy.scaling.speed import PROFILES, Speed, SpeedTracker


def test_concurrent_calls_share_a_cpu_server_but_not_a_batching_one() -> None:
    cpu = Speed(decode_tps=20.0, prefill_ratio=5.0, concurrency_gain=0.6, sample_tokens=200)
    gpu = Speed(decode_tps=20.0, prefill_ratio=5.0, concurrency_gain=1.0, sample_tokens=200)
    alone = cpu.call_s(100, 200)
    assert alone == pytest.approx((100 / 5 + 200) / 20)
    assert cpu.call_s(100, 200, concurrency=8) == pytest.approx(alone * 8**0.4)
    assert gpu.call_s(100, 200, concurrency=8) == pytest.approx(alone)


def test_the_tracker_starts_from_the_profile_and_learns_per_model() -> None:
    tracker = SpeedTracker(PROFILES["embedded"], sample_tokens=300)
    assert tracker.speed("m").decode_tps == PROFILES["embedded"].decode_tps
    for _ in range(20):  # one call alone: 100 completion tokens in 1 s (no prompt)
        concurrency = tracker.started("m")
        tracker.finished(
            "m", concurrency=concurrency, prompt_tokens=0, completion_tokens=100, seconds=1.0
        )
    assert tracker.speed("m").decode_tps == pytest.approx(100.0, rel=0.01)
    assert tracker.speed("other").decode_tps == PROFILES["embedded"].decode_tps


def test_concurrency_and_choices_are_taken_into_account() -> None:
    profile = PROFILES["embedded"]
    tracker = SpeedTracker(profile, sample_tokens=300)
    for _ in range(20):  # 4 choices of 50 tokens decoded together in 2 s
        tracker.finished(
            "m", concurrency=1, prompt_tokens=0, completion_tokens=200, seconds=2.0, choices=4,
            sample=True,
        )  # fmt: skip
    expected = 50 * 4 ** (1 - profile.concurrency_gain) / 2.0
    assert tracker.speed("m").decode_tps == pytest.approx(expected, rel=0.01)
    assert tracker.speed("m").sample_tokens == pytest.approx(50, rel=0.01)


def test_calls_that_say_nothing_teach_nothing() -> None:
    tracker = SpeedTracker(PROFILES["hosted"], sample_tokens=300)
    tracker.started("m")
    tracker.aborted("m")
    tracker.finished("m", concurrency=1, prompt_tokens=10, completion_tokens=0, seconds=3.0)
    tracker.finished("m", concurrency=1, prompt_tokens=10, completion_tokens=5, seconds=0.001)
    assert tracker.speed("m").decode_tps == math.inf  # a hosted API's speed is not guessed
    assert tracker.started("m") == 1  # nothing left counted in flight


def test_an_unknown_upstream_is_measured_from_its_first_call() -> None:
    tracker = SpeedTracker(PROFILES["vllm"], sample_tokens=300)
    assert tracker.speed("m").call_s(1000, 300, concurrency=8) == 0.0  # plans as asked
    tracker.finished("m", concurrency=1, prompt_tokens=0, completion_tokens=90, seconds=3.0)
    assert tracker.speed("m").decode_tps == pytest.approx(30.0)
