"""A run's trace (the JSON document of ``proxy.scaling.trace``) as what its page shows.

The page answers "why this program?": the chosen program and why; the stages as a timeline with
their calls and tokens, and the run's plans; the task and its tests; every candidate with each
debug round's program and test results; then what selection saw (``behaviour.py``): the
clusters with their outputs on the inputs that told them apart, and the tournament.

The trace is read defensively (``reading.py``): it is ours, but a page must not be the thing
that breaks on a trace from another version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proxy.pages.behaviour import BehaviourView, behaviour_view, cluster_of
from proxy.pages.reading import as_float, as_int, as_list, as_map, as_opt_str, as_str


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
class TaskView:
    kind: str
    model: str
    entry_point: str | None
    problem: str
    public_tests: tuple[TestRow, ...]


@dataclass(frozen=True, slots=True)
class RunView:
    """Everything the run page shows."""

    run_id: str
    task: TaskView
    selection: str
    selected: int
    program: str
    reasons: tuple[str, ...]
    picks: tuple[tuple[str, int], ...]
    tokens: int
    upstream_calls: int
    executions: int
    passed_public: int
    stages: tuple[StageView, ...]
    total_ms: float
    plan: str
    plans: tuple[str, ...]
    early_stop: str | None
    escalations: int
    degraded: tuple[str, ...]
    tokens_by_purpose: tuple[tuple[str, int], ...]
    candidates: tuple[CandidateView, ...]
    behaviour: BehaviourView


def run_view(trace: Mapping[str, object]) -> RunView:
    """The page's view of one trace document."""
    selected = as_int(trace.get("selected"))
    picks = tuple(
        (as_str(p.get("selection")), as_int(p.get("candidate")))
        for p in (as_map(p) for p in as_list(trace.get("picks")))
    )
    stages, total_ms = _stages(trace)
    return RunView(
        run_id=as_str(trace.get("id")),
        task=_task(as_map(trace.get("task"))),
        selection=as_str(trace.get("selection")),
        selected=selected,
        program=as_str(trace.get("program")),
        reasons=tuple(as_str(r) for r in as_list(trace.get("reasons"))),
        picks=picks,
        tokens=as_int(as_map(trace.get("usage")).get("total_tokens")),
        upstream_calls=as_int(trace.get("upstream_calls")),
        executions=as_int(trace.get("executions")),
        passed_public=as_int(trace.get("passed_public")),
        stages=stages,
        total_ms=total_ms,
        plan=as_str(trace.get("plan")),
        plans=tuple(as_str(p) for p in as_list(trace.get("plans"))),
        early_stop=as_opt_str(trace.get("early_stop")),
        escalations=as_int(trace.get("escalations")),
        degraded=tuple(as_str(d) for d in as_list(trace.get("degraded"))),
        tokens_by_purpose=tuple(
            (str(purpose), as_int(as_map(usage).get("total_tokens")))
            for purpose, usage in as_map(trace.get("usage_by_purpose")).items()
        ),
        candidates=tuple(
            _candidate(trace, as_map(c), selected=selected, picks=picks)
            for c in as_list(trace.get("candidates"))
        ),
        behaviour=behaviour_view(trace, selected=selected),
    )


def _task(task: Mapping[str, object]) -> TaskView:
    return TaskView(
        kind=as_str(task.get("kind")),
        model=as_str(task.get("model")),
        entry_point=as_opt_str(task.get("entry_point")),
        problem=as_str(task.get("problem")),
        public_tests=tuple(_test_row(as_map(t)) for t in as_list(task.get("public_tests"))),
    )


def _candidate(
    trace: Mapping[str, object],
    candidate: Mapping[str, object],
    *,
    selected: int,
    picks: tuple[tuple[str, int], ...],
) -> CandidateView:
    index = as_int(candidate.get("index"))
    best_round = as_int(candidate.get("best_round"))
    cluster = cluster_of(trace, index)
    return CandidateView(
        index=index,
        revisions=tuple(
            RevisionView(
                round=as_int(r.get("round")),
                program=as_str(r.get("program")),
                passed=as_int(r.get("passed")),
                tests=tuple(_test_row(as_map(t)) for t in as_list(r.get("tests"))),
                best=as_int(r.get("round")) == best_round,
            )
            for r in (as_map(r) for r in as_list(candidate.get("revisions")))
        ),
        best_round=best_round,
        passed_public=bool(candidate.get("passed_public")),
        dropped_reason=as_opt_str(candidate.get("dropped_reason")),
        cluster=as_int(cluster.get("id")) if cluster is not None else None,
        representative=cluster is not None and as_int(cluster.get("representative")) == index,
        chosen=index == selected,
        picked_by=tuple(mode for mode, pick in picks if pick == index),
    )


def _stages(trace: Mapping[str, object]) -> tuple[tuple[StageView, ...], float]:
    """The stages one after another (the engine runs them in sequence), placed on one scale."""
    timings = [as_map(t) for t in as_list(trace.get("timings"))]
    total = sum(as_float(t.get("duration_ms")) for t in timings)
    stages: list[StageView] = []
    start = 0.0
    for timing in timings:
        duration = as_float(timing.get("duration_ms"))
        stages.append(
            StageView(
                stage=as_str(timing.get("stage")),
                start_ms=start,
                duration_ms=duration,
                upstream_calls=as_int(timing.get("upstream_calls")),
                executions=as_int(timing.get("executions")),
                tokens=as_int(as_map(timing.get("usage")).get("total_tokens")),
                completed=timing.get("completed") is not False,
                offset_pct=round(100 * start / total, 2) if total else 0.0,
                width_pct=round(100 * duration / total, 2) if total else 0.0,
            )
        )
        start += duration
    return tuple(stages), total


def _test_row(test: Mapping[str, object]) -> TestRow:
    return TestRow(
        input=as_str(test.get("input")),
        expected=as_opt_str(test.get("expected")),
        actual=as_str(test.get("actual")),
        status=as_str(test.get("status")),
        passed=bool(test.get("passed")),
        source=as_str(test.get("source")),
    )
