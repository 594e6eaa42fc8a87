"""bench.plan_replay: the planner's sample-length model replayed over traces."""

from __future__ import annotations

from typing import Any

import pytest

from bench.plan_replay import replay, spread


def _trace(name: str, stub: str, answer: str, seconds: float) -> dict[str, Any]:
    return {
        "task": {
            "kind": "function",
            "problem": stub,
            "entry_point": name,
            "signature": {"name": name, "starter_code": stub},
        },
        "params": {"samples": 4},
        "timings": [{"stage": "sample", "duration_ms": seconds * 1000}],
        "candidates": [{"index": i, "revisions": [{"message": answer}]} for i in range(4)],
    }


def test_a_long_stub_is_expected_to_make_long_samples() -> None:
    body = "    return x\n" * 20
    short = "def f(x):\n    '''Short.'''\n"
    long = "def g(x):\n    '''" + "Long words. " * 150 + "'''\n"
    rows = replay([_trace("f", short, short + body, 20.0), _trace("g", long, long + body, 60.0)])
    (mean_f, tail_f, _), (mean_g, tail_g, _) = rows
    assert tail_g > mean_g  # the tail model counts g's stub, the mean model only f's samples
    assert tail_g / tail_f > mean_g / mean_f


def test_the_spread_of_ratios() -> None:
    assert spread([2.0, 2.0, 2.0]) == pytest.approx((1.0, 1.0))
    deviation, worst = spread([1.0, 2.0, 4.0])
    assert worst == pytest.approx(2.0)
    assert deviation > 1.5
