"""run_view: what the run page shows, read from a real trace document."""

from __future__ import annotations

from proxy.pages.behaviour import Output
from proxy.pages.view import run_view
from tests.unit.pages.traces import CRASH, PROBLEM, RIGHT, RUN_ID, WRONG, trace


def test_the_run_and_its_task() -> None:
    view = run_view(trace())
    assert view.run_id == RUN_ID
    task = view.task
    assert (task.kind, task.model, task.entry_point) == ("function", "fake-model", "add")
    assert task.problem == PROBLEM
    assert [(t.input, t.expected, t.source) for t in task.public_tests] == [
        ("[1, 2]", "3", "prompt")
    ]
    assert (view.selected, view.program, view.selection) == (2, RIGHT, "adaptive")
    assert (view.tokens, view.upstream_calls, view.executions) == (150, 6, 20)


def test_every_candidate_with_every_round_and_its_place_in_selection() -> None:
    candidates = {c.index: c for c in run_view(trace()).candidates}
    assert sorted(candidates) == [0, 1, 2]
    repaired = candidates[1]
    assert [r.program for r in repaired.revisions] == [CRASH, RIGHT]
    assert [r.best for r in repaired.revisions] == [False, True]
    assert repaired.program == RIGHT, "a candidate contributes its best revision"
    assert repaired.revisions[0].tests[0].actual == "ZeroDivisionError"
    assert not repaired.revisions[0].tests[0].passed
    assert (repaired.cluster, repaired.representative, repaired.chosen) == (0, False, False)
    chosen = candidates[2]
    assert (chosen.cluster, chosen.representative, chosen.chosen) == (0, True, True)
    assert chosen.picked_by == ("majority", "adaptive")
    assert candidates[0].program == WRONG
    assert candidates[0].picked_by == ("first",)
    assert not candidates[0].passed_public


def test_clusters_show_only_the_inputs_that_told_them_apart() -> None:
    view = run_view(trace())
    # inputs [1, 2], [0, 0], [3, 4]: both clusters answered 0 on [0, 0]
    assert view.behaviour.distinguishing == ("[1, 2]", "[3, 4]")
    assert view.behaviour.agreed_inputs == 1
    first, second = view.behaviour.clusters
    assert first.outputs == (Output("3", failed=False), Output("7", failed=False))
    assert second.outputs == (Output("-1", failed=False), Output("RUNTIME_ERROR", failed=True))
    assert (first.chosen, first.wins, second.chosen, second.wins) == (True, 1, False, 0)
    assert view.behaviour.note is None


def test_signatures_not_over_the_inputs_show_no_input_rows() -> None:
    # programs not executed for clustering: each stands alone with a placeholder signature
    clusters = [
        {"id": 0, "members": [2], "representative": 2, "signature": ["#0"]},
        {"id": 1, "members": [0], "representative": 0, "signature": ["#1"]},
    ]
    view = run_view(trace(clusters=clusters))
    assert view.behaviour.distinguishing == ()
    assert view.behaviour.note is not None
    assert "not executed" in view.behaviour.note


def test_clustering_on_the_public_inputs_and_their_variants_when_nothing_was_synthesized() -> None:
    clusters = [
        {"id": 0, "members": [1, 2], "representative": 2, "signature": ["OK:3", "OK:5"]},
        {"id": 1, "members": [0], "representative": 0, "signature": ["OK:-1", "OK:5"]},
    ]
    view = run_view(trace(clusters=clusters, synthesized_inputs=[], mutated_inputs=["[2, 3]"]))
    assert view.behaviour.distinguishing == ("[1, 2]",)
    assert view.behaviour.agreed_inputs == 1


def test_the_timeline_places_the_stages_one_after_another() -> None:
    view = run_view(trace())
    assert view.total_ms == 1000.0
    assert [(s.stage, s.start_ms, s.offset_pct, s.width_pct) for s in view.stages] == [
        ("sample", 0.0, 0.0, 60.0),
        ("debug", 600.0, 60.0, 30.0),
        ("select", 900.0, 90.0, 10.0),
    ]
    assert [s.completed for s in view.stages] == [True, False, True]
    assert view.stages[0].tokens == 15
    assert view.plan == "N=3 R=1 tournament"
    assert view.plans == ("N=3 R=1 tournament: 1 s estimated of 60 s",)
    assert (view.early_stop, view.escalations) == (None, 0)
    assert view.tokens_by_purpose == (("sample", 15), ("judge", 25))


def test_the_tournament() -> None:
    (match,) = run_view(trace()).behaviour.matches
    assert (match.cluster_a, match.cluster_b, match.winner) == (0, 1, 0)
    assert [(r.input, r.output_a, r.output_b) for r in match.rows] == [("[1, 2]", "3", "-1")]
    assert match.verdicts == ("0 (A)", "0 (B)")


def test_a_damaged_or_foreign_trace_still_has_a_view() -> None:
    view = run_view(
        {"id": "run_x", "candidates": [{"index": "?", "revisions": None}], "timings": 3}
    )
    assert view.run_id == "run_x"
    assert view.candidates[0].revisions == ()
    assert view.candidates[0].program == ""
    assert view.stages == ()
    assert view.behaviour.note is not None
