"""Per-mode summary, markdown table and chart."""

from __future__ import annotations

import pytest

from bench.accuracy.report import render_markdown, render_problem_matrix, summarize, write_chart
from bench.accuracy.store import Record


def _records() -> list[Record]:
    def r(suite: str, task: str, mode: str, passed: bool, oracle: bool, **kw: object) -> Record:
        return Record(suite, task, mode, passed=passed, oracle_passed=oracle, **kw)  # type: ignore[arg-type]

    return [
        r("humaneval", "HumanEval/0", "plain", True, True, prompt_tokens=10, completion_tokens=10,
          wall_s=1.0),
        r("humaneval", "HumanEval/2", "plain", False, False, prompt_tokens=30, completion_tokens=30,
          wall_s=3.0),
        r("humaneval", "HumanEval/0", "adaptive", True, True, prompt_tokens=500,
          completion_tokens=500, wall_s=10.0),
        r("humaneval", "HumanEval/2", "adaptive", False, True, error=None, wall_s=20.0),
        r("stdin", "stdin/a", "adaptive", False, False, error="ReadTimeout"),
        r("stdin", "stdin/b", "adaptive", True, True, applied=False),
    ]  # fmt: skip


def test_summary_per_suite_and_mode():
    rows = summarize(_records(), ["plain", "majority", "adaptive"])
    assert [(row.suite, row.mode) for row in rows] == [
        ("humaneval", "plain"),
        ("humaneval", "adaptive"),
        ("stdin", "adaptive"),
    ]
    plain, adaptive, stdin = rows
    assert plain.problems == 2
    assert plain.pass_at_1 == pytest.approx(50.0)
    assert plain.oracle_pass == pytest.approx(50.0)
    assert plain.mean_tokens == pytest.approx(40.0)
    assert plain.mean_wall_s == pytest.approx(2.0)
    assert adaptive.pass_at_1 == pytest.approx(50.0)
    assert adaptive.oracle_pass == pytest.approx(100.0)
    assert adaptive.mean_tokens == pytest.approx(500.0)
    assert stdin.errors == 1
    assert stdin.fallbacks == 1
    assert stdin.pass_at_1 == pytest.approx(50.0)
    assert plain.fallbacks == 0


def test_markdown_table():
    table = render_markdown(summarize(_records(), ["plain", "adaptive"]), title="dev, N=8")
    lines = table.splitlines()
    assert lines[0] == "### dev, N=8"
    assert lines[2].startswith("| suite | mode | problems | pass@1 (%) | oracle pass@N (%)")
    assert "| humaneval | adaptive | 2 | 50.0 | 100.0 | 500 | 15.0 | 0 | 0 |" in lines
    assert len(lines) == 4 + 3


def test_chart_is_a_png(tmp_path):
    path = tmp_path / "out" / "chart.png"
    write_chart(summarize(_records(), ["plain", "adaptive"]), path, title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = tmp_path / "empty.png"
    write_chart([], empty, title="nothing yet")
    assert empty.stat().st_size > 0


def test_problem_matrix_marks_selection_misses():
    matrix = render_problem_matrix(_records(), ["plain", "adaptive", "public"])
    lines = matrix.splitlines()
    assert lines[0] == "| problem | plain | adaptive | public |"
    assert "| HumanEval/0 | pass | pass |  |" in lines
    assert "| HumanEval/2 | fail | fail* |  |" in lines
    assert "| stdin/a |  | error |  |" in lines


def test_stage_completion_is_reported_for_s_star_runs() -> None:
    done = {"sample": True, "debug": True, "select": True}
    cut = {"sample": True, "debug": False, "select": True}
    records = [
        Record("humaneval", "t/0", "adaptive", True, True, stages=done, early_stop=True),
        Record("humaneval", "t/2", "adaptive", False, True, stages=cut),
        Record("humaneval", "t/0", "plain", True, True),
    ]
    (plain, adaptive) = summarize(records, ["plain", "adaptive"])
    assert plain.runs_with_stages == 0
    assert adaptive.runs_with_stages == 2
    assert dict(adaptive.stage_completion) == {"sample": 100.0, "debug": 50.0, "select": 100.0}
    assert (adaptive.all_stages_completed, adaptive.early_stops) == (50.0, 1)
    table = render_markdown([plain, adaptive], title="t")
    assert (
        "| humaneval | adaptive | 2 | 50 % | sample 100 %, debug 50 %, select 100 % | 1 |" in table
    )
