"""The full trace of an S* run as a JSON-able document, and reading one back (replays).

Shape (every key always present; lists may be empty)::

    {"id", "object": "sstar.run", "selection", "selected", "program", "message",
     "usage": {"prompt_tokens", "completion_tokens", "total_tokens"},
     "usage_by_purpose": {"sample"|"debug"|"synthesis"|"distinguish"|"judge": usage},
     "upstream_calls", "executions", "passed_public",
     "task": {"kind", "model", "language", "compare_mode", "entry_point", "signature", "problem",
              "public_tests": [{"input", "expected", "source"}]},
     "params": {... every ScalingParams field ...},
     "candidates": [{"index", "dropped_reason", "best_round", "passed_public",
                     "revisions": [{"round", "program", "message", "passed", "tests": [
                         {"input", "expected", "status", "actual", "passed"}]}]}],
     "clusters": [{"id", "members", "representative", "signature"}],
     "matches": [{"cluster_a", "cluster_b", "inputs", "outputs_a", "outputs_b", "verdicts",
                  "winner"}],
     "synthesized_inputs", "mutated_inputs",
     "timings": [{"stage", "duration_ms", "upstream_calls", "executions", "usage", "completed"}],
     "plan": str, "plans": [str], "early_stop": str | null, "escalations": int,
     "degraded", "reasons",
     "picks": [{"selection", "candidate", "elapsed_ms"}]}   (requested mode last)

The API layer serialises this dict as is; nothing else crosses as ``dict``. Benchmarks read
traces back with :func:`task_from_trace` and :func:`clusters_from_trace`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from proxy.scaling.types import (
    Candidate,
    Cluster,
    CodeTask,
    Pick,
    PublicTest,
    ScalingParams,
    ScalingResult,
    Signature,
)
from proxy.upstream.base import Usage


def render_trace(
    result: ScalingResult,
    *,
    task: CodeTask,
    params: ScalingParams,
    run_id: str,
    picks: tuple[Pick, ...] = (),
) -> dict[str, object]:
    """The trace document of one run (see the module docstring for its shape)."""
    return {
        "id": run_id,
        "object": "sstar.run",
        "selection": result.selection,
        "selected": result.selected,
        "program": result.program,
        "message": result.message,
        "usage": _usage(result.usage),
        "usage_by_purpose": {purpose: _usage(u) for purpose, u in result.usage_by_purpose},
        "upstream_calls": result.upstream_calls,
        "executions": result.executions,
        "passed_public": result.passed_public,
        "task": _task(task),
        "params": _jsonable(dataclasses.asdict(params)),
        "candidates": [_candidate(c) for c in result.candidates],
        "clusters": [_jsonable(dataclasses.asdict(c)) for c in result.clusters],
        "matches": [_jsonable(dataclasses.asdict(m)) for m in result.matches],
        "synthesized_inputs": list(result.synthesized_inputs),
        "mutated_inputs": list(result.mutated_inputs),
        "timings": [
            {
                "stage": t.stage,
                "duration_ms": t.duration_ms,
                "upstream_calls": t.upstream_calls,
                "executions": t.executions,
                "usage": _usage(t.usage),
                "completed": t.completed,
            }
            for t in result.timings
        ],
        "plan": result.plan,
        "plans": list(result.plans),
        "early_stop": result.early_stop,
        "escalations": result.escalations,
        "degraded": list(result.degraded),
        "reasons": list(result.reasons),
        "picks": [
            {"selection": p.selection, "candidate": p.candidate, "elapsed_ms": p.elapsed_ms}
            for p in picks
        ],
    }


def task_from_trace(trace: Mapping[str, Any], *, model: str = "replay") -> CodeTask:
    """The run's task as the engine saw it: problem, kind, signature and public tests."""
    task = trace.get("task") or {}
    signature = task.get("signature")
    return CodeTask(
        problem=str(task.get("problem", "")),
        conversation=(),
        kind=task.get("kind", "function"),
        model=model,
        signature=Signature(
            name=str(signature["name"]),
            params=tuple(str(p) for p in signature.get("params") or ()),
            class_name=signature.get("class_name"),
            starter_code=signature.get("starter_code"),
        )
        if isinstance(signature, Mapping)
        else None,
        public_tests=tuple(
            PublicTest(str(t["input"]), None if t.get("expected") is None else str(t["expected"]))
            for t in task.get("public_tests") or ()
        ),
        compare_mode=task.get("compare_mode", "lcb"),
    )


def clusters_from_trace(trace: Mapping[str, Any]) -> tuple[Cluster, ...]:
    """The run's behaviour clusters, as selection built them."""
    return tuple(
        Cluster(
            id=int(c["id"]),
            members=tuple(int(m) for m in c["members"]),
            representative=int(c["representative"]),
            signature=tuple(str(s) for s in c.get("signature") or ()),
        )
        for c in trace.get("clusters") or ()
    )


def _usage(usage: Usage) -> dict[str, object]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _task(task: CodeTask) -> dict[str, object]:
    signature = task.signature
    return {
        "kind": task.kind,
        "model": task.model,
        "language": task.language,
        "compare_mode": task.compare_mode,
        "entry_point": signature.entry_point if signature is not None else None,
        "signature": _jsonable(dataclasses.asdict(signature)) if signature is not None else None,
        "problem": task.problem,
        "public_tests": [_jsonable(dataclasses.asdict(t)) for t in task.public_tests],
    }


def _candidate(candidate: Candidate) -> dict[str, object]:
    return {
        "index": candidate.index,
        "dropped_reason": candidate.dropped_reason,
        "best_round": candidate.best_round,
        "passed_public": candidate.passes_public,
        "revisions": [
            {
                "round": r.round,
                "program": r.program,
                "message": r.message,
                "passed": r.passed,
                "tests": [_jsonable(dataclasses.asdict(t)) for t in r.tests],
            }
            for r in candidate.revisions
        ],
    }


def _jsonable(value: object) -> object:
    """Tuples as lists, everything else JSON can hold as is, the rest as ``str``."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
