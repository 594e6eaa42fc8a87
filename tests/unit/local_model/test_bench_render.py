"""The concurrent decoding benchmark's table (the measurement itself needs the real model)."""

from __future__ import annotations

from bench.local_model import Row, render


def test_render_shows_throughput_and_ratio_to_single() -> None:
    rows = [
        Row("single", 1, 1, 128, 8.0),
        Row("concurrent", 8, 8, 1024, 16.0),
        Row("n=8", 1, 8, 1024, 20.0),
    ]
    table = render(rows, header="h")
    assert "| single | 1 | 1 | 128 | 8.0 | 16.0 | 1.00x |" in table
    assert "| concurrent | 8 | 8 | 1024 | 16.0 | 64.0 | 4.00x |" in table
    assert "| n=8 | 1 | 8 | 1024 | 20.0 | 51.2 | 3.20x |" in table
    assert Row("x", 0, 0, 0, 0.0).tokens_per_s == 0.0
