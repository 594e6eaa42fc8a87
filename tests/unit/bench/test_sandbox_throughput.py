"""The throughput bench's busy window: runs counted only while every lane had work."""

from __future__ import annotations

import pytest

from bench.sandbox_throughput import Finished, busy_window


def test_the_window_closes_when_the_first_lane_runs_dry() -> None:
    # two lanes; lane A ends at 10 with nothing left, lane B's last job runs from 8 to 12
    finished = [Finished(0, 5, 10), Finished(0, 4, 10), Finished(5, 10, 10), Finished(4, 8, 10)]
    tail = Finished(8, 12, 10)
    assert busy_window([*finished, tail], [10, 12]) == pytest.approx(40 + 10 * 2 / 4)


def test_one_lane_counts_every_run() -> None:
    jobs = [Finished(0, 1, 3), Finished(1, 3, 3)]
    assert busy_window(jobs, [3]) == 6
