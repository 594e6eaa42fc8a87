"""The concurrent decoding benchmark's table (the measurement itself needs the real model)."""

from __future__ import annotations

import os

from bench.local_model import Row, _completion_tokens, render, server_cpu_seconds


def test_render_shows_throughput_and_ratio_to_single() -> None:
    rows = [
        Row("single", 1, 1, 128, 8.0, 16.0),
        Row("concurrent", 8, 8, 1024, 16.0, 32.0),
        Row("n=8", 1, 8, 1024, 20.0, 0.0),
    ]
    table = render(rows, header="h")
    assert "| single | 1 | 1 | 128 | 8.0 | 16.0 | 1.00x | 16.0 | 8.0 | 1.00x |" in table
    assert "| concurrent | 8 | 8 | 1024 | 16.0 | 64.0 | 4.00x | 32.0 | 32.0 | 4.00x |" in table
    assert "| n=8 | 1 | 8 | 1024 | 20.0 | 51.2 | 3.20x | 0.0 | 0.0 | 0.00x |" in table
    assert Row("x", 0, 0, 0, 0.0).tokens_per_s == 0.0


def test_server_cpu_seconds_reads_proc() -> None:
    assert server_cpu_seconds(os.getpid()) > 0.0
    assert server_cpu_seconds(None) == 0.0
    assert server_cpu_seconds(2**22 + 12345) == 0.0  # no such process


def test_completion_tokens_count_every_choice_of_an_n_request() -> None:
    length = {"finish_reason": "length"}
    # llama-server reports the tokens of one choice only when n > 1.
    assert (
        _completion_tokens({"choices": [length] * 8, "usage": {"completion_tokens": 64}}, 64) == 512
    )
    stopped = {"choices": [{"finish_reason": "stop"}], "usage": {"completion_tokens": 10}}
    assert _completion_tokens(stopped, 64) == 10
