"""The full trace of an S* run as a JSON-able document, for ``GET /v1/sstar/runs/{id}``.

Shape (every key always present; lists may be empty)::

    {"id", "object": "sstar.run", "selection", "selected", "program", "message",
     "usage": {"prompt_tokens", "completion_tokens", "total_tokens"},
     "upstream_calls", "executions", "passed_public",
     "task": {"kind", "model", "language", "compare_mode", "entry_point", "signature", "problem",
              "public_tests": [{"input", "expected", "source"}]},   (the tests the run used)
     "params": {... every ScalingParams field ...},
     "candidates": [{"index", "dropped_reason", "best_round", "passed_public",
                     "revisions": [{"round", "program", "message", "passed", "tests": [
                         {"input", "expected", "status", "actual", "passed"}]}]}],
     "clusters": [{"id", "members", "representative", "signature"}],
     "matches": [{"cluster_a", "cluster_b", "inputs", "outputs_a", "outputs_b", "verdicts",
                  "winner"}],
     "synthesized_inputs", "mutated_inputs",
     "timings": [{"stage", "duration_ms", "upstream_calls", "executions", "usage"}],
     "degraded", "reasons",
     "picks": [{"selection", "candidate", "elapsed_ms", "usage"}]}   (requested mode last)

The API layer serialises this dict as is; nothing else crosses as ``dict``.
"""

from __future__ import annotations

import dataclasses

from proxy.scaling.types import Candidate, CodeTask, PublicTest, ScalingParams, ScalingResult
from proxy.upstream.base import Usage


def render_trace(
    result: ScalingResult, *, task: CodeTask, params: ScalingParams, run_id: str
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
        "upstream_calls": result.upstream_calls,
        "executions": result.executions,
        "passed_public": result.passed_public,
        "task": _task(task, result.public_tests or task.public_tests),
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
            }
            for t in result.timings
        ],
        "degraded": list(result.degraded),
        "reasons": list(result.reasons),
        "picks": [
            {
                "selection": p.selection,
                "candidate": p.candidate,
                "elapsed_ms": p.elapsed_ms,
                "usage": _usage(p.usage),
            }
            for p in result.picks
        ],
    }


def _usage(usage: Usage) -> dict[str, object]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _task(task: CodeTask, tests: tuple[PublicTest, ...]) -> dict[str, object]:
    signature = task.signature
    return {
        "kind": task.kind,
        "model": task.model,
        "language": task.language,
        "compare_mode": task.compare_mode,
        "entry_point": signature.entry_point if signature is not None else None,
        "signature": _jsonable(dataclasses.asdict(signature)) if signature is not None else None,
        "problem": task.problem,
        "public_tests": [_jsonable(dataclasses.asdict(t)) for t in tests],
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
