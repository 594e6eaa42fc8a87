"""What selection saw, for the run page: the behaviour clusters with their outputs on the
inputs that told them apart, and the tournament's matches.

A cluster's signature is its output on every input selection ran, in order: the synthesized
inputs (else the public ones), then their variants (``proxy.scaling.mutation.clustering_inputs``).
The trace records those lists, so the page labels each output with its input; inputs on which
every cluster agreed are only counted. When the signatures are not over them (the programs were
not executed for clustering) no input row is shown, and a note says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from proxy.pages.reading import as_int, as_ints, as_list, as_map, as_str

_OK_PREFIX = "OK:"  # a behaviour key is "OK:<output>" or a bare failure status


@dataclass(frozen=True, slots=True)
class Output:
    """One output cell: the program's output, or the status it failed with."""

    text: str
    failed: bool


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
class BehaviourView:
    clusters: tuple[ClusterView, ...]
    distinguishing: tuple[str, ...]  # the inputs on which the clusters' outputs differ
    agreed_inputs: int  # inputs run for clustering on which every cluster agreed
    note: str | None
    matches: tuple[MatchView, ...]


def behaviour_view(trace: Mapping[str, object], *, selected: int) -> BehaviourView:
    """The clusters and matches of ``trace``; ``selected`` marks the chosen candidate's cluster."""
    clusters = [as_map(c) for c in as_list(trace.get("clusters"))]
    matches = tuple(_match(as_map(m)) for m in as_list(trace.get("matches")))
    inputs = _clustering_inputs(trace, clusters)
    differing = [i for i in range(len(inputs)) if len({_signature(c)[i] for c in clusters}) > 1]
    return BehaviourView(
        clusters=tuple(
            ClusterView(
                id=as_int(c.get("id")),
                members=as_ints(c.get("members")),
                representative=as_int(c.get("representative")),
                outputs=tuple(_output(_signature(c)[i]) for i in differing),
                wins=sum(m.winner == as_int(c.get("id")) for m in matches),
                chosen=selected in as_ints(c.get("members")),
            )
            for c in clusters
        ),
        distinguishing=tuple(inputs[i] for i in differing),
        agreed_inputs=len(inputs) - len(differing),
        note=_note(clusters, inputs),
        matches=matches,
    )


def cluster_of(trace: Mapping[str, object], index: int) -> Mapping[str, object] | None:
    """The cluster candidate ``index`` belongs to, if it was clustered."""
    return next(
        (
            cluster
            for cluster in (as_map(c) for c in as_list(trace.get("clusters")))
            if index in as_ints(cluster.get("members"))
        ),
        None,
    )


def _clustering_inputs(
    trace: Mapping[str, object], clusters: Sequence[Mapping[str, object]]
) -> tuple[str, ...]:
    """The inputs the signatures are over, in their order; ``()`` when they are not."""
    task = as_map(trace.get("task"))
    synthesized = [as_str(i) for i in as_list(trace.get("synthesized_inputs"))]
    public = [as_str(as_map(t).get("input")) for t in as_list(task.get("public_tests"))]
    mutated = [as_str(i) for i in as_list(trace.get("mutated_inputs"))]
    inputs = tuple(dict.fromkeys([*(synthesized or public), *mutated]))
    lengths = {len(_signature(c)) for c in clusters}
    return inputs if lengths == {len(inputs)} else ()


def _note(clusters: Sequence[Mapping[str, object]], inputs: tuple[str, ...]) -> str | None:
    if not clusters:
        return "No clusters: selection did not get that far."
    if not inputs:
        return "The programs were not executed for clustering: each distinct program stands alone."
    if len(clusters) == 1:
        return "One cluster: every program behaved alike on every input run."
    return None


def _output(key: str) -> Output:
    if key.startswith(_OK_PREFIX):
        return Output(key[len(_OK_PREFIX) :], failed=False)
    return Output(key, failed=True)


def _match(match: Mapping[str, object]) -> MatchView:
    inputs = [as_str(i) for i in as_list(match.get("inputs"))]
    outputs_a = [as_str(o) for o in as_list(match.get("outputs_a"))]
    outputs_b = [as_str(o) for o in as_list(match.get("outputs_b"))]
    winner = match.get("winner")
    return MatchView(
        cluster_a=as_int(match.get("cluster_a")),
        cluster_b=as_int(match.get("cluster_b")),
        rows=tuple(MatchRow(*row) for row in zip(inputs, outputs_a, outputs_b, strict=False)),
        verdicts=tuple(as_str(v) for v in as_list(match.get("verdicts"))),
        winner=winner if isinstance(winner, int) and not isinstance(winner, bool) else None,
    )


def _signature(cluster: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(as_str(s) for s in as_list(cluster.get("signature")))
