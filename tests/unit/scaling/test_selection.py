"""The public filter (with its no-pass fallback) and deduplication."""

from __future__ import annotations

from proxy.scaling.selection import dedupe, filter_public
from proxy.scaling.types import Candidate, Revision, TestOutcome


def outcome(passed: bool) -> TestOutcome:
    return TestOutcome("1", "1", "OK" if passed else "WRONG_ANSWER", "1", passed)


def candidate(index: int, passes: list[bool], program: str = "x = 1") -> Candidate:
    return Candidate(index, (Revision(0, program, "", tuple(outcome(p) for p in passes)),), 0)


def test_filter_keeps_candidates_passing_everything() -> None:
    pool, why = filter_public([candidate(0, [True, False]), candidate(1, [True, True])], 2)
    assert [c.index for c in pool] == [1]
    assert why == "1 candidate(s) pass all 2 public tests"


def test_no_pass_fallback_keeps_the_best_and_still_selects() -> None:
    candidates = [
        candidate(0, [False, False]),
        candidate(1, [True, False]),
        candidate(2, [False, True]),
    ]
    pool, why = filter_public(candidates, 2)
    assert [c.index for c in pool] == [1, 2]
    assert why is not None
    assert "no candidate passes" in why


def test_no_tests_keeps_everyone() -> None:
    pool, _ = filter_public([candidate(0, []), candidate(1, [])], 0)
    assert len(pool) == 2


def test_dedupe_merges_layout_variants_and_keeps_counts() -> None:
    programs = dedupe(
        [
            candidate(0, [], "x = 1\nprint(x)"),
            candidate(1, [], "x=1  # same\n\nprint( x )"),
            candidate(2, [], "print(2)"),
        ]
    )
    assert [(p.candidate.index, p.members) for p in programs] == [(0, (0, 1)), (2, (2,))]
