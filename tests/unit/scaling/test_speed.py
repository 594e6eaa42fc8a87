"""The speed model: priors per upstream kind, corrected from finished calls per concurrency."""

from __future__ import annotations

import math

import pytest

from proxy.scaling.speed import PROFILES, SAMPLE_WINDOW, Speed, SpeedTracker, level_of


def test_concurrent_calls_share_a_cpu_server_but_not_a_batching_one() -> None:
    cpu = Speed(decode_tps=20.0, prefill_ratio=5.0, concurrency_gain=0.6, sample_tokens=200)
    gpu = Speed(decode_tps=20.0, prefill_ratio=5.0, concurrency_gain=1.0, sample_tokens=200)
    alone = cpu.call_s(100, 200)
    assert alone == pytest.approx((100 / 5 + 200) / 20)
    assert cpu.call_s(100, 200, concurrency=8) == pytest.approx(alone * 8**0.4)
    assert gpu.call_s(100, 200, concurrency=8) == pytest.approx(alone)


def _learn(tracker: SpeedTracker, *, concurrency: int, tokens: int, seconds: float) -> None:
    for _ in range(20):
        tracker.finished(
            "m", concurrency=concurrency, prompt_tokens=0, completion_tokens=tokens, seconds=seconds
        )


def test_the_tracker_starts_from_the_profile_and_learns_per_model() -> None:
    tracker = SpeedTracker(PROFILES["embedded"], sample_tokens=300)
    prior = tracker.speed("m").call_s(0, 240)
    assert prior == pytest.approx(240 / (PROFILES["embedded"].decode_tps or math.inf))
    _learn(tracker, concurrency=1, tokens=100, seconds=1.0)  # 100 tokens a second alone
    assert tracker.speed("m").call_s(0, 100) == pytest.approx(1.0, rel=0.01)
    assert tracker.speed("other").call_s(0, 240) == pytest.approx(prior)


def test_each_level_of_concurrency_is_predicted_from_what_was_seen_there() -> None:
    tracker = SpeedTracker(PROFILES["embedded"], sample_tokens=300)
    _learn(tracker, concurrency=1, tokens=100, seconds=1.0)
    _learn(tracker, concurrency=8, tokens=100, seconds=8.0)  # no gain at all from 8 at once
    speed = tracker.speed("m")
    assert speed.call_s(0, 100, concurrency=1) == pytest.approx(1.0, rel=0.01)
    assert speed.call_s(0, 100, concurrency=8) == pytest.approx(8.0, rel=0.01)
    # 2 at once: the nearest level seen is 1 at once, scaled by the profile's model
    gain = PROFILES["embedded"].concurrency_gain
    assert speed.call_s(0, 100, concurrency=2) == pytest.approx(2 ** (1 - gain), rel=0.01)
    assert [level_of(c) for c in (1, 2, 3, 4, 5, 8, 9)] == [0, 1, 2, 2, 3, 3, 4]


def test_the_choices_of_one_call_decode_together() -> None:
    tracker = SpeedTracker(PROFILES["embedded"], sample_tokens=300)
    for _ in range(20):  # 4 choices of 50 tokens decoded together in 2 s
        tracker.finished(
            "m", concurrency=1, prompt_tokens=0, completion_tokens=200, seconds=2.0, choices=4,
            sample=True,
        )  # fmt: skip
    speed = tracker.speed("m")
    assert speed.call_s(0, 50, concurrency=4) == pytest.approx(2.0, rel=0.01)
    assert speed.sample_tokens == pytest.approx(50, rel=0.01)


def test_calls_that_say_nothing_teach_nothing() -> None:
    tracker = SpeedTracker(PROFILES["hosted"], sample_tokens=300)
    tracker.started("m")
    tracker.aborted("m")
    tracker.finished("m", concurrency=1, prompt_tokens=10, completion_tokens=0, seconds=3.0)
    tracker.finished("m", concurrency=1, prompt_tokens=10, completion_tokens=5, seconds=0.001)
    tracker.finished("m", concurrency=1, prompt_tokens=900, completion_tokens=1, seconds=2.0)
    assert tracker.speed("m").decode_tps == math.inf  # a hosted API's speed is not guessed
    assert tracker.speed("m").by_concurrency == ()
    assert tracker.started("m") == 1  # nothing left counted in flight


def test_an_unknown_upstream_is_measured_from_its_first_call() -> None:
    tracker = SpeedTracker(PROFILES["vllm"], sample_tokens=300)
    assert tracker.speed("m").call_s(1000, 300, concurrency=8) == 0.0  # plans as asked
    tracker.finished("m", concurrency=1, prompt_tokens=0, completion_tokens=90, seconds=3.0)
    assert tracker.speed("m").call_s(0, 90) == pytest.approx(3.0)


def test_samples_are_measured_beyond_the_starter_code_they_restate() -> None:
    tracker = SpeedTracker(PROFILES["embedded"], sample_tokens=300)
    tracker.finished(
        "m", concurrency=1, prompt_tokens=0, completion_tokens=500, seconds=5.0, sample=True,
        starter_tokens=350,
    )  # fmt: skip
    tracker.finished(
        "m", concurrency=1, prompt_tokens=0, completion_tokens=100, seconds=1.0, sample=True,
        starter_tokens=350,
    )  # fmt: skip
    speed = tracker.speed("m")
    assert speed.sample_lengths == (0.0, 150.0)  # shorter than its stub: added nothing
    assert speed.sample_tokens == pytest.approx(75.0)


def test_the_window_keeps_the_newest_lengths() -> None:
    tracker = SpeedTracker(PROFILES["embedded"], sample_tokens=300)
    for length in range(1, 101):
        tracker.finished(
            "m", concurrency=1, prompt_tokens=0, completion_tokens=length, seconds=1.0,
            sample=True,
        )  # fmt: skip
    lengths = tracker.speed("m").sample_lengths
    assert lengths == tuple(float(n) for n in range(101 - SAMPLE_WINDOW, 101))


def test_the_longest_of_a_batch_is_expected_from_the_tail_of_the_lengths_seen() -> None:
    prior = Speed(decode_tps=20.0, prefill_ratio=5.0, concurrency_gain=0.6, sample_tokens=200)
    assert prior.sample_quantiles(3) == (200.0, 200.0, 200.0)
    seen = Speed(
        decode_tps=20.0, prefill_ratio=5.0, concurrency_gain=0.6, sample_tokens=250,
        sample_lengths=tuple(float(n) for n in range(100, 401, 10)),
    )  # fmt: skip
    lengths = seen.sample_quantiles(8)
    assert list(lengths) == sorted(lengths)
    assert lengths[0] == pytest.approx(100 + 300 / 9)
    assert lengths[-1] == pytest.approx(100 + 300 * 8 / 9)  # the longest of 8: the 89th percentile
    assert sum(lengths) / len(lengths) == pytest.approx(250)
