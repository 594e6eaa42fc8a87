"""The throughput bench's steady window: runs counted only while every lane was in its stride."""

from __future__ import annotations

import pytest

from bench.sandbox_throughput import Finished, busy_window


def test_the_window_opens_after_every_first_job_and_closes_when_a_lane_runs_dry() -> None:
    # lane A: 0-4, 4-8, 8-10 (then nothing left); lane B: 0-5, 5-9, 9-13
    lane_a = [Finished(0, 4, 10), Finished(4, 8, 10), Finished(8, 10, 10)]
    lane_b = [Finished(0, 5, 10), Finished(5, 9, 10), Finished(9, 13, 10)]
    # window 5-10: A's second job 3/4 in, A's third and B's second whole, B's third 1/4 in
    expected = 10 * 3 / 4 + 10 + 10 + 10 * 1 / 4
    assert busy_window([*lane_a, *lane_b], [4, 5], [10, 13]) == pytest.approx((expected, 5))


def test_one_lane_drops_only_its_first_job() -> None:
    jobs = [Finished(0, 1, 3), Finished(1, 3, 3), Finished(3, 4, 3)]
    assert busy_window(jobs, [1], [4]) == (6, 3)


def test_a_round_without_a_steady_part_is_refused() -> None:
    with pytest.raises(ValueError, match="too few jobs"):
        busy_window([Finished(0, 4, 1), Finished(0, 5, 1)], [4, 5], [4, 5])
