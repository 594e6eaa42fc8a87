"""``python -m bench.selection_replay``: selection again with other inputs and the greedy answer,
on a real sandbox, with a stand-in proxy answering the plain request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import selection_replay as command
from bench.selection_replay import GREEDY, selection_pool
from tests.unit.bench.fake_proxy import Reply, serve_fake_proxy

RIGHT = """def has_close_elements(numbers, threshold):
    ordered = sorted(numbers)
    return any(b - a < threshold for a, b in zip(ordered, ordered[1:]))
"""
# Compares neighbours in the given order only: passes both docstring examples.
WRONG = """def has_close_elements(numbers, threshold):
    return any(abs(a - b) < threshold for a, b in zip(numbers, numbers[1:]))
"""
PUBLIC = [
    {"input": "[[1.0,2.0,3.0],0.5]", "expected": "false"},
    {"input": "[[1.0,2.8,3.0,4.0,5.0,2.0],0.3]", "expected": "true"},
]


def _candidate(index: int, program: str, passed: int = 2) -> dict[str, Any]:
    revision = {"round": 0, "passed": passed, "program": program}
    return {"index": index, "best_round": 0, "dropped_reason": None, "revisions": [revision]}


def _trace() -> dict[str, Any]:
    """Two copies of the wrong program, one right one, and a last sample failing a public test;
    a synthesized input tells the wrong and right programs apart."""
    return {
        "selected": 0,
        "task": {
            "kind": "function",
            "problem": "p",
            "signature": {"name": "has_close_elements", "params": ["numbers", "threshold"]},
            "public_tests": PUBLIC,
        },
        "params": {"num_synth_inputs": 8, "exec_wall_time_s": 4.0},
        "candidates": [
            _candidate(0, WRONG),
            _candidate(1, WRONG),
            _candidate(2, RIGHT),
            _candidate(3, "def has_close_elements(numbers, threshold):\n    return 0\n", 1),
        ],
        "clusters": [{"id": 0, "members": [0, 1], "representative": 0, "signature": []}],
        "synthesized_inputs": ["[[1.0,5.0,1.1],0.2]"],
        "mutated_inputs": [],
        "matches": [],
    }


def test_the_greedy_answer_replaces_the_last_sample_and_joins_if_it_passes_as_many() -> None:
    assert [m for _, m in selection_pool(_trace()).programs] == [(0, 1), (2,)]
    passed_all = selection_pool(_trace(), (RIGHT, 2)).passed
    assert 3 not in passed_all  # its place went to the greedy answer
    pool = selection_pool(_trace(), (RIGHT.replace("ordered", "values"), 2))
    assert [members for _, members in pool.programs] == [(GREEDY,), (0, 1), (2,)]
    pool = selection_pool(_trace(), (RIGHT, 2))  # the same program as candidate 2
    assert [members for _, members in pool.programs] == [(GREEDY, 2), (0, 1)]
    pool = selection_pool(_trace(), (RIGHT, 1))
    assert [members for _, members in pool.programs] == [(0, 1), (2,)]


def test_replay_grades_every_variant_and_asks_the_proxy_for_greedy_answers(
    tmp_path: Path, capsys
) -> None:
    record = {"suite": "humaneval", "task_id": "HumanEval/0", "mode": "adaptive",
              "passed": False, "oracle_passed": True}  # fmt: skip
    reports, data = tmp_path / "reports", tmp_path / "data"
    traces = data / "r-traces" / "adaptive"
    traces.mkdir(parents=True)
    (data / "r.json").write_text(json.dumps({"config": {}, "records": [record]}))
    (traces / "HumanEval_0.json").write_text(json.dumps(_trace()))

    dirs = ["--results-dir", str(reports), "--data-dir", str(data)]

    def plain(message: str, headers: dict[str, str]) -> Reply:
        assert headers["x-sstar-mode"] == "off"
        return Reply(answer=f"```python\n{RIGHT}```")

    with serve_fake_proxy(plain) as proxy:
        args = ["--name", "r", *dirs, "--plain-from", proxy.base_url]
        assert command.main(args) == 0
        assert len(proxy.requests) == 1
    stored = json.loads((data / "r-plain-programs.json").read_text())
    assert stored["HumanEval/0"].strip() == RIGHT.strip()
    assert sorted(p.name for p in reports.iterdir()) == ["r-selection.md"]
    written = (reports / "r-selection.md").read_text()
    # Two wrong copies outvote the right program; with the greedy answer the clusters tie at
    # two and the greedy answer's lowest index wins.
    assert "| recorded inputs | 0/1 (0.0 %) |" in written
    assert "| this checkout's input variants | 0/1 (0.0 %) |" in written
    assert "| recorded inputs + greedy answer | 1/1 (100.0 %) |" in written
    assert "| this checkout's input variants + greedy answer | 1/1 (100.0 %) |" in written
    assert "| HumanEval/0 | fail | fail (2 cl.) |" in written
    assert "The greedy answers alone pass 1/1 (100.0 %)." in written
    assert "written to" in capsys.readouterr().out

    # The stored answer is reused: no proxy is needed a second time.
    assert command.main(["--name", "r", *dirs]) == 0
    assert "+ greedy answer | 1/1" in (reports / "r-selection.md").read_text()
