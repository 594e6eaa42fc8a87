"""A run's trace (the JSON document of ``proxy.scaling.trace``) as what its page shows.

The page answers "why this program?": the task and its tests; every candidate with each debug
round's program and test results; the behaviour clusters with their outputs on the inputs that
told them apart (inputs on which every cluster agreed are only counted); the tournament; the
chosen program; the stages as a timeline with their calls and tokens, and the run's plans.

The trace is read defensively (a missing or odd value shows as empty, never fails the page):
it is ours, but a page must not be the thing that breaks on a trace from another version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_FAILED_PREFIX = "OK:"  # a behaviour key is "OK:<output>" or a bare failure status


@dataclass(frozen=True, slots=True)
class Output:
    """One output cell: the program's output, or the status it failed with."""

    text: str
    failed: bool


@dataclass(frozen=True, slots=True)
class TestRow:
    """A public test, or a revision's result on one."""

    __test__ = False  # not a pytest class

    input: str
    expected: str | None
    actual: str = ""
    status: str = ""
    passed: bool = False
    source: str = ""


@dataclass(frozen=True, slots=True)
class RevisionView:
    round: int
    program: str
    passed: int
    tests: tuple[TestRow, ...]
    best: bool


@dataclass(frozen=True, slots=True)
class CandidateView:
    index: int
    revisions: tuple[RevisionView, ...]
    best_round: int
    passed_public: bool
    dropped_reason: str | None
    cluster: int | None
    representative: bool
    chosen: bool
    picked_by: tuple[str, ...]

    @property
    def program(self) -> str:
        """The program this candidate contributes: its best revision's."""
        for revision in self.revisions:
            if revision.best:
                return revision.program
        return self.revisions[-1].program if self.revisions else ""


@dataclass(frozen=True, slots=True)
class ClusterView:
    id: int
    members: tuple[int, ...]
    representative: int
    outputs: tuple[Output, ...]  # one per distinguishing input
    wins: int
    chosen: bool


@dataclass(frozen=True, slots=True)
class MatchRow:
    input: str
    output_a: str
    output_b: str


@dataclass(frozen=True, slots=True)
class MatchView:
    cluster_a: int
    cluster_b: int
    rows: tuple[MatchRow, ...]
    verdicts: tuple[str, ...]
    winner: int | None


@dataclass(frozen=True, slots=True)
class StageView:
    stage: str
    start_ms: float
    duration_ms: float
    upstream_calls: int
    executions: int
    tokens: int
    completed: bool
    offset_pct: float  # where the stage starts on the timeline
    width_pct: float  # how much of the run it took


@dataclass(frozen=True, slots=True)
class RunView:
    """Everything the run page shows, in the order it shows it."""

    run_id: str
    kind: str
    model: str
    entry_point: str | None
    problem: str
    public_tests: tuple[TestRow, ...]
    selection: str
    selected: int
    program: str
    tokens: int
    upstream_calls: int
    executions: int
    passed_public: int
    candidates: tuple[CandidateView, ...]
    clusters: tuple[ClusterView, ...]
    distinguishing: tuple[str, ...]  # the inputs on which the clusters' outputs differ
    agreed_inputs: int  # inputs run for clustering on which every cluster agreed
    clustering_note: str | None
    matches: tuple[MatchView, ...]
    stages: tuple[StageView, ...]
    total_ms: float
    plan: str
    plans: tuple[str, ...]
    early_stop: str | None
    escalations: int
    degraded: tuple[str, ...]
    reasons: tuple[str, ...]
    picks: tuple[tuple[str, int], ...]
    tokens_by_purpose: tuple[tuple[str, int], ...]


def run_view(trace: Mapping[str, object]) -> RunView:
    """The page's view of one trace document."""
    task = _map(trace.get("task"))
    selected = _int(trace.get("selected"))
    clusters = [_map(c) for c in _list(trace.get("clusters"))]
    matches = tuple(_match(_map(m)) for m in _list(trace.get("matches")))
    chosen_cluster = next(
        (_int(c.get("id")) for c in clusters if selected in _ints(c.get("members"))), None
    )
    inputs = _clustering_inputs(trace, task, clusters)
    differing = [i for i in range(len(inputs)) if _differs(clusters, i)]
    picks = tuple(
        (_str(p.get("selection")), _int(p.get("candidate")))
        for p in (_map(p) for p in _list(trace.get("picks")))
    )
    stages, total_ms = _stages(trace)
    return RunView(
        run_id=_str(trace.get("id")),
        kind=_str(task.get("kind")),
        model=_str(task.get("model")),
        entry_point=_opt_str(task.get("entry_point")),
        problem=_str(task.get("problem")),
        public_tests=tuple(_test_row(_map(t)) for t in _list(task.get("public_tests"))),
        selection=_str(trace.get("selection")),
        selected=selected,
        program=_str(trace.get("program")),
        tokens=_int(_map(trace.get("usage")).get("total_tokens")),
        upstream_calls=_int(trace.get("upstream_calls")),
        executions=_int(trace.get("executions")),
        passed_public=_int(trace.get("passed_public")),
        candidates=tuple(
            _candidate(_map(c), selected=selected, clusters=clusters, picks=picks)
            for c in _list(trace.get("candidates"))
        ),
        clusters=tuple(
            ClusterView(
                id=_int(c.get("id")),
                members=_ints(c.get("members")),
                representative=_int(c.get("representative")),
                outputs=tuple(_output(_signature(c)[i]) for i in differing),
                wins=sum(m.winner == _int(c.get("id")) for m in matches),
                chosen=_int(c.get("id")) == chosen_cluster,
            )
            for c in clusters
        ),
        distinguishing=tuple(inputs[i] for i in differing),
        agreed_inputs=len(inputs) - len(differing),
        clustering_note=_clustering_note(clusters, inputs),
        matches=matches,
        stages=stages,
        total_ms=total_ms,
        plan=_str(trace.get("plan")),
        plans=tuple(_str(p) for p in _list(trace.get("plans"))),
        early_stop=_opt_str(trace.get("early_stop")),
        escalations=_int(trace.get("escalations")),
        degraded=tuple(_str(d) for d in _list(trace.get("degraded"))),
        reasons=tuple(_str(r) for r in _list(trace.get("reasons"))),
        picks=picks,
        tokens_by_purpose=tuple(
            (str(purpose), _int(_map(usage).get("total_tokens")))
            for purpose, usage in _map(trace.get("usage_by_purpose")).items()
        ),
    )


def _candidate(
    candidate: Mapping[str, object],
    *,
    selected: int,
    clusters: Sequence[Mapping[str, object]],
    picks: tuple[tuple[str, int], ...],
) -> CandidateView:
    index = _int(candidate.get("index"))
    best_round = _int(candidate.get("best_round"))
    cluster = next((c for c in clusters if index in _ints(c.get("members"))), None)
    return CandidateView(
        index=index,
        revisions=tuple(
            RevisionView(
                round=_int(r.get("round")),
                program=_str(r.get("program")),
                passed=_int(r.get("passed")),
                tests=tuple(_test_row(_map(t)) for t in _list(r.get("tests"))),
                best=_int(r.get("round")) == best_round,
            )
            for r in (_map(r) for r in _list(candidate.get("revisions")))
        ),
        best_round=best_round,
        passed_public=bool(candidate.get("passed_public")),
        dropped_reason=_opt_str(candidate.get("dropped_reason")),
        cluster=_int(cluster.get("id")) if cluster is not None else None,
        representative=cluster is not None and _int(cluster.get("representative")) == index,
        chosen=index == selected,
        picked_by=tuple(mode for mode, pick in picks if pick == index),
    )


def _clustering_inputs(
    trace: Mapping[str, object],
    task: Mapping[str, object],
    clusters: Sequence[Mapping[str, object]],
) -> tuple[str, ...]:
    """The inputs each cluster signature is over, in its order, as selection ran them
    (``proxy.scaling.mutation.clustering_inputs``: the synthesized inputs, else the public ones,
    then the variants); ``()`` when the signatures are not over them (not executed)."""
    synthesized = [_str(i) for i in _list(trace.get("synthesized_inputs"))]
    public = [_str(_map(t).get("input")) for t in _list(task.get("public_tests"))]
    mutated = [_str(i) for i in _list(trace.get("mutated_inputs"))]
    inputs = tuple(dict.fromkeys([*(synthesized or public), *mutated]))
    lengths = {len(_signature(c)) for c in clusters}
    return inputs if lengths == {len(inputs)} else ()


def _clustering_note(
    clusters: Sequence[Mapping[str, object]], inputs: tuple[str, ...]
) -> str | None:
    if not clusters:
        return "No clusters: selection did not get that far."
    if not inputs:
        return "The programs were not executed for clustering: each distinct program stands alone."
    if len(clusters) == 1:
        return "One cluster: every program behaved alike on every input run."
    return None


def _differs(clusters: Sequence[Mapping[str, object]], i: int) -> bool:
    return len({_signature(c)[i] for c in clusters}) > 1


def _output(key: str) -> Output:
    if key.startswith(_FAILED_PREFIX):
        return Output(key[len(_FAILED_PREFIX) :], failed=False)
    return Output(key, failed=True)


def _match(match: Mapping[str, object]) -> MatchView:
    inputs = [_str(i) for i in _list(match.get("inputs"))]
    outputs_a = [_str(o) for o in _list(match.get("outputs_a"))]
    outputs_b = [_str(o) for o in _list(match.get("outputs_b"))]
    winner = match.get("winner")
    return MatchView(
        cluster_a=_int(match.get("cluster_a")),
        cluster_b=_int(match.get("cluster_b")),
        rows=tuple(MatchRow(*row) for row in zip(inputs, outputs_a, outputs_b, strict=False)),
        verdicts=tuple(_str(v) for v in _list(match.get("verdicts"))),
        winner=winner if isinstance(winner, int) else None,
    )


def _stages(trace: Mapping[str, object]) -> tuple[tuple[StageView, ...], float]:
    """The stages one after another (the engine runs them in sequence), placed on one scale."""
    timings = [_map(t) for t in _list(trace.get("timings"))]
    total = sum(_float(t.get("duration_ms")) for t in timings)
    stages: list[StageView] = []
    start = 0.0
    for timing in timings:
        duration = _float(timing.get("duration_ms"))
        stages.append(
            StageView(
                stage=_str(timing.get("stage")),
                start_ms=start,
                duration_ms=duration,
                upstream_calls=_int(timing.get("upstream_calls")),
                executions=_int(timing.get("executions")),
                tokens=_int(_map(timing.get("usage")).get("total_tokens")),
                completed=timing.get("completed") is not False,
                offset_pct=round(100 * start / total, 2) if total else 0.0,
                width_pct=round(100 * duration / total, 2) if total else 0.0,
            )
        )
        start += duration
    return tuple(stages), total


def _test_row(test: Mapping[str, object]) -> TestRow:
    return TestRow(
        input=_str(test.get("input")),
        expected=_opt_str(test.get("expected")),
        actual=_str(test.get("actual")),
        status=_str(test.get("status")),
        passed=bool(test.get("passed")),
        source=_str(test.get("source")),
    )


def _signature(cluster: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(_str(s) for s in _list(cluster.get("signature")))


def _map(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> Sequence[object]:
    return value if isinstance(value, list | tuple) else ()


def _str(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ints(value: object) -> tuple[int, ...]:
    return tuple(_int(v) for v in _list(value))


def _float(value: object) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else 0.0  # type: ignore[arg-type]
