"""Where selection fails: classify every miss from the run traces.

A *miss* is a problem whose S* answer failed the hidden tests although at least one of the
run's own candidates passed them (``fail*`` in the per-problem grid): sampling and debugging
did their part, selection did not. Reading the trace says which step lost the correct program:

``filtered by public tests``
    every correct candidate passed fewer public tests than the best candidate, so it never
    reached clustering (wrong examples extracted, an output format the comparator rejects, or a
    program that is right on the hidden tests but wrong on an example).
``one cluster``
    a correct and the selected program behaved identically on every executed input: the inputs
    (synthesized, varied, public) never separated them.
``lost the tournament``
    the correct program's cluster played matches and the selected one won more.
``tournament undecided``
    the correct program's matches were played but none decided (the judge contradicted itself
    when the two programs swapped places); the tie went to size, then the lower index.
``lost on size``
    the correct program's cluster played no match (a cap or fault cut the tournament); the
    larger cluster won.
``no evidence``
    the trace has no clusters (no inputs could be executed, or a cap cut selection short).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from proxy.scaling.replay import normalise_program

KINDS = (
    "filtered by public tests",
    "one cluster",
    "lost the tournament",
    "tournament undecided",
    "lost on size",
    "no evidence",
)


@dataclass(frozen=True, slots=True)
class Miss:
    """One problem where selection passed over a correct candidate."""

    task_id: str
    selected: int
    correct: tuple[int, ...]
    kind: str
    detail: str


def classify(task_id: str, trace: Mapping[str, Any], correct: set[int]) -> Miss:
    """Why the run's selection (``trace["selected"]``) missed every candidate in ``correct``."""
    selected = int(trace["selected"])
    passed = {int(c["index"]): public_passed(c) for c in trace.get("candidates") or ()}
    best = max(passed.values(), default=0)
    right = tuple(sorted(correct))

    def miss(kind: str, detail: str) -> Miss:
        return Miss(task_id, selected, right, kind, detail)

    if all(passed.get(i, -1) < best for i in correct):
        counts = ", ".join(f"#{i}: {passed.get(i, 0)}" for i in right)
        return miss(KINDS[0], f"best public pass count {best}; correct candidates {counts}")
    clusters = {int(m): c for c in trace.get("clusters") or () for m in c["members"]}
    if not clusters:
        return miss(KINDS[5], "; ".join(trace.get("degraded") or ()) or "no clusters in the trace")
    chosen = clusters.get(selected)
    if chosen is not None and correct & {int(m) for m in chosen["members"]}:
        inputs = len(chosen["signature"])
        return miss(KINDS[1], f"cluster {chosen['id']} mixes right and wrong on {inputs} input(s)")
    rival_ids = {clusters[i]["id"] for i in correct if i in clusters}
    played = [m for m in trace.get("matches") or () if {m["cluster_a"], m["cluster_b"]} & rival_ids]
    decided = [m for m in played if m.get("winner") is not None]
    if decided:
        lost = sum(m["winner"] not in rival_ids for m in decided)
        return miss(KINDS[2], f"{lost} of {len(decided)} decided match(es) lost")
    if played:
        verdicts = "; ".join("/".join(map(str, m.get("verdicts", ()))) for m in played)
        return miss(KINDS[3], f"{len(played)} match(es), verdicts {verdicts}")
    return miss(KINDS[4], f"clusters {sorted(rival_ids)} played no match")


@dataclass(frozen=True, slots=True)
class JudgeTally:
    """How the tournament's judge did, counted over matches whose programs were graded."""

    judged: int = 0  # matches where the outputs differed, so the judge was asked
    decided: int = 0
    mixed: int = 0  # judged matches between a correct and a wrong program
    mixed_decided: int = 0
    mixed_right: int = 0  # ... decided for the correct program


def tally_judge(traces: Iterable[tuple[Mapping[str, Any], set[int]]]) -> JudgeTally:
    """Count, over ``(trace, correct candidates)`` pairs, how often the judge picked right."""
    judged = decided = mixed = mixed_decided = mixed_right = 0
    for trace, correct in traces:
        right = {c["id"]: int(c["representative"]) in correct for c in trace.get("clusters") or ()}
        for match in trace.get("matches") or ():
            if tuple(match.get("verdicts", ())) == ("same", "same"):
                continue
            judged += 1
            winner = match.get("winner")
            decided += winner is not None
            a, b = right.get(match["cluster_a"]), right.get(match["cluster_b"])
            if a is None or b is None or a == b:
                continue
            mixed += 1
            if winner is not None:
                mixed_decided += 1
                mixed_right += right.get(winner, False)
    return JudgeTally(judged, decided, mixed, mixed_decided, mixed_right)


def render_judge(tally: JudgeTally) -> str:
    """One paragraph on the judge."""
    return (
        f"Tournament judge: {tally.judged} match(es) judged, {tally.decided} decided. "
        f"{tally.mixed} were between a correct and a wrong program: {tally.mixed_decided} "
        f"decided, {tally.mixed_right} of them for the correct one.\n"
    )


def public_passed(candidate: Mapping[str, Any]) -> int:
    """How many public tests the candidate's best revision passed (as selection filtered)."""
    revisions = candidate.get("revisions") or ()
    best_round = candidate.get("best_round")
    best = next((r for r in revisions if r.get("round") == best_round), None)
    return int(best.get("passed", 0)) if best else 0


def render_misses(misses: Sequence[Miss], *, runs: int) -> str:
    """A markdown summary (counts per kind) and one row per miss."""
    counts = Counter(m.kind for m in misses)
    out = [
        f"{len(misses)} selection miss(es) in {runs} run(s) with a correct candidate:",
        "",
        "| why | problems |",
        "|---|---:|",
        *(f"| {kind} | {counts[kind]} |" for kind in KINDS if counts[kind]),
        "",
        "| problem | selected | correct candidates | why | detail |",
        "|---|---:|---|---|---|",
    ]
    for m in misses:
        right = ", ".join(f"#{i}" for i in m.correct)
        out.append(f"| {m.task_id} | #{m.selected} | {right} | {m.kind} | {m.detail} |")
    return "\n".join(out) + "\n"


@dataclass(frozen=True, slots=True)
class RepresentativeTally:
    """What choosing each cluster's most-sampled program as its representative would change."""

    differing: int = 0  # runs whose answer would be another program
    gained: int = 0  # ... that fails now and would pass
    lost: int = 0  # ... that passes now and would fail


def most_sampled(trace: Mapping[str, Any], programs: Mapping[int, str]) -> int | None:
    """The candidate a "most copies" representative rule would answer with in this run.

    Within the selected candidate's cluster: among the members passing the most public tests,
    one whose program (normalised, as selection dedupes) the most members share; the selected
    one itself when it is among those (it was the fastest, the rule's next tie-break). ``None``
    when the trace has no clusters.
    """
    selected = int(trace["selected"])
    cluster = next((c for c in trace.get("clusters") or () if selected in c["members"]), None)
    if cluster is None:
        return None
    passed = {int(c["index"]): public_passed(c) for c in trace.get("candidates") or ()}
    members = [int(m) for m in cluster["members"] if int(m) in programs]
    best = max(passed.get(m, 0) for m in members)
    eligible = [m for m in members if passed.get(m, 0) == best]
    copies = Counter(normalise_program(programs[m]) for m in eligible)
    top = max(copies.values())
    leaders = [m for m in eligible if copies[normalise_program(programs[m])] == top]
    return selected if selected in leaders else min(leaders)


def tally_representatives(
    runs: Iterable[tuple[Mapping[str, Any], Mapping[int, str], set[int]]],
) -> RepresentativeTally:
    """Over ``(trace, programs, correct candidates)``: answers :func:`most_sampled` changes."""
    differing = gained = lost = 0
    for trace, programs, correct in runs:
        alternative = most_sampled(trace, programs)
        selected = int(trace["selected"])
        if alternative is None or normalise_program(programs[alternative]) == normalise_program(
            programs.get(selected, "")
        ):
            continue
        differing += 1
        gained += alternative in correct and selected not in correct
        lost += selected in correct and alternative not in correct
    return RepresentativeTally(differing, gained, lost)


def render_representatives(tally: RepresentativeTally) -> str:
    """One paragraph on the representative rule."""
    return (
        f"Representatives: in {tally.differing} run(s) the selected cluster's most-sampled "
        f"program is not the answer (selection took the fastest member before 2026-11-28): "
        f"{tally.gained} fail(s) would pass, {tally.lost} pass(es) would fail.\n"
    )
