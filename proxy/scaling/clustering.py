"""S* stage 3: behaviour clusters and the deterministic ranking of clusters.

Inputs: one :class:`Behaviour` per distinct program (after deduplication), holding its output
signature over *all* synthesized inputs (``sandbox.compare.behaviour_key`` per input: canonical
output, or the bare failure status, so a crash or a timeout is a value of its own). Output:
clusters of programs with identical signatures, largest first. Following the paper (Algorithm 1),
we cluster once on the full signature, not per input as the reference code did.

Pure functions; ranking is deterministic: wins, then cluster size (duplicates counted), then
public pass rate, then the lowest candidate index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from proxy.scaling.types import Cluster


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A distinct program: the candidates sharing it and how it behaved."""

    index: int
    members: tuple[int, ...]
    public_passed: int
    time_s: float
    signature: tuple[str, ...]


def cluster_behaviours(behaviours: Sequence[Behaviour]) -> tuple[Cluster, ...]:
    """Group programs by exact signature; clusters ordered by size, then lowest member."""
    groups: dict[tuple[str, ...], list[Behaviour]] = {}
    for behaviour in behaviours:
        groups.setdefault(behaviour.signature, []).append(behaviour)
    ordered = sorted(
        groups.values(),
        key=lambda g: (-sum(len(b.members) for b in g), min(m for b in g for m in b.members)),
    )
    return tuple(
        Cluster(
            id=number,
            members=tuple(sorted(m for b in group for m in b.members)),
            representative=representative(group).index,
            signature=group[0].signature,
        )
        for number, group in enumerate(ordered)
    )


def representative(group: Sequence[Behaviour]) -> Behaviour:
    """The member that passed most public tests, then the program sampled most often (identical
    candidates), then the fastest, then the lowest index.

    A cluster's members behaved alike on every input run, so the choice matters only when the
    inputs missed a difference; then a program several samples agree on verbatim is the likelier
    one, while speed alone favours shortcuts (the measurement is in bench/README.md).
    """
    return min(group, key=lambda b: (-b.public_passed, -len(b.members), b.time_s, b.index))


def rank_clusters(
    clusters: Sequence[Cluster],
    *,
    wins: Mapping[int, int],
    public_rate: Mapping[int, float],
) -> list[Cluster]:
    """Clusters best first: most wins, then size, then public pass rate, then lowest index."""
    return sorted(
        clusters,
        key=lambda c: (
            -wins.get(c.id, 0),
            -len(c.members),
            -public_rate.get(c.id, 0.0),
            min(c.members),
        ),
    )
