"""Replay a run's recorded tournaments with another judge: a style, or a model.

    .venv/bin/python -m bench.judge_replay --judge reasoned --model qwen2.5-coder-1.5b
    .venv/bin/python -m bench.judge_replay --base-url http://127.0.0.1:9000/v1 --model-name m

Every judged match in the saved traces of ``--name`` is judged once more, in both program
orders, exactly as the tournament would (:func:`proxy.scaling.replay.judge_pair`): same
problem, programs, inputs and real outputs. The clusters are then ranked again with the new
verdicts (:mod:`bench.accuracy.replay`), so the report says what the same runs would have
answered with this judge, graded with the hidden tests in the sandbox: a paired comparison on the
very same candidates. Only runs with a judged match and both right and wrong cluster
representatives can change; the others keep their recorded outcome and are not judged. Without
``--base-url`` the embedded ``--model`` is started for the replay. The run JSON and traces are
read from ``--data-dir`` (default ``~/.cache/sstar-proxy/bench``, see :mod:`bench.paths`);
verdicts are kept there in ``<name>-judge-<style>-<model>.json`` as they come, so a replay
resumes, and the report ``<name>-judge-<style>-<model>.md`` goes to ``--results-dir``
(``bench/results``). Run it on a quiet machine or accept slower numbers; only the dev split's
traces are read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.accuracy.client import candidate_programs
from bench.accuracy.replay import (
    MatchKey,
    judged_matches,
    match_key,
    recorded_winners,
    tournament_pick,
)
from bench.misses import GradedRun, graded_runs, mode_records, saved_run, write_report
from bench.paths import ResultSet, add_dir_arguments, writable
from proxy.scaling.replay import first_wins, judge_pair, task_from_trace
from proxy.scaling.types import CodeTask, JudgeStyle, ScalingParams
from proxy.settings import Settings
from proxy.upstream.base import Upstream
from proxy.upstream.litellm_client import LiteLLMUpstream


@dataclass(frozen=True, slots=True)
class ReplayedMatch:
    """One match judged again: P(A) in each order and, between a correct and a wrong program,
    whether the new verdict went to the correct one (``None``: a draw, or not a mixed match)."""

    where: str
    forward: float | None
    backward: float | None
    mixed: bool
    right: bool | None


@dataclass(frozen=True, slots=True)
class ReplayedRun:
    """One run's answer as recorded and with the replayed verdicts, graded."""

    task_id: str
    recorded: bool
    replayed: bool
    matches: tuple[ReplayedMatch, ...]


@dataclass(frozen=True, slots=True)
class Replay:
    """Every replayed run, and the mode's pass count over all its finished tasks."""

    runs: tuple[ReplayedRun, ...]
    tasks: int
    passed: int

    @property
    def replayed_passed(self) -> int:
        return self.passed + sum(r.replayed - r.recorded for r in self.runs)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.judge_replay", description=__doc__)
    p.add_argument("--name", default="humaneval-dev-n8-r2", help="results name")
    add_dir_arguments(p)
    p.add_argument("--mode", default="adaptive")
    p.add_argument("--judge", choices=("scored", "reasoned"), default="scored")
    p.add_argument("--model", default="qwen2.5-coder-1.5b", help="embedded model to start")
    p.add_argument("--base-url", default=None, help="judge with this server instead")
    p.add_argument("--model-name", default=None, help="model name at --base-url")
    return p


async def replay(
    results: ResultSet,
    mode: str,
    *,
    api_base: str,
    model: str,
    judge: JudgeStyle,
    verdicts: Path | None = None,
) -> Replay:
    """Judge every recorded match of the runs that could change again and re-rank.

    ``verdicts`` keeps each match's two answers as they come (a JSON file), so a stopped replay
    resumes and a rerun after the benchmark went on judges only the new matches.
    """
    records = mode_records(json.loads(results.runs.read_text()), mode)
    graded, _ = await graded_runs(results, mode)
    upstream = LiteLLMUpstream(Settings(upstream_api_base=api_base, upstream_is_llama_cpp=True))
    params = ScalingParams(judge=judge, deadline_s=1e6, seed=0)
    judging = _Judge(upstream, model=model, params=params, store=_VerdictStore(verdicts))
    try:
        runs = [await judging.replay_run(run) for run in graded if _can_change(run)]
    finally:
        await upstream.aclose()
    return Replay(tuple(runs), len(records), sum(bool(r["passed"]) for r in records))


def _can_change(run: GradedRun) -> bool:
    """Whether verdicts can change the run's answer: a judged match, and clusters whose
    representatives are not all right or all wrong (the answer is always one of them)."""
    right = {int(c["representative"]) in run.correct for c in run.trace.get("clusters") or ()}
    return bool(judged_matches(run.trace)) and len(right) == 2


class _VerdictStore:
    """P(A) in both orders per match, read from and written through to a JSON file."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._saved: dict[str, list[float | None]] = {}
        if path is not None and path.exists():
            self._saved = json.loads(path.read_text())

    def get(self, key: str) -> tuple[float | None, float | None] | None:
        pair = self._saved.get(key)
        return None if pair is None else (pair[0], pair[1])

    def put(self, key: str, forward: float | None, backward: float | None) -> None:
        self._saved[key] = [forward, backward]
        if self._path is not None:
            partial = writable(self._path.with_suffix(".partial"))
            partial.write_text(json.dumps(self._saved, indent=1, sort_keys=True))
            partial.replace(self._path)


class _Judge:
    def __init__(
        self, upstream: Upstream, *, model: str, params: ScalingParams, store: _VerdictStore
    ) -> None:
        self._upstream = upstream
        self._model = model
        self._params = params
        self._store = store

    async def replay_run(self, run: GradedRun) -> ReplayedRun:
        programs, _ = candidate_programs(run.trace)
        task = task_from_trace(run.trace, model=self._model)
        representative = {c["id"]: int(c["representative"]) for c in run.trace["clusters"]}
        winners: dict[MatchKey, int | None] = recorded_winners(run.trace)
        replayed = []
        for match in judged_matches(run.trace):
            a, b = match_key(match)
            first, second = representative[a], representative[b]
            inputs = tuple(match["inputs"])
            outputs = (tuple(match["outputs_a"]), tuple(match["outputs_b"]))
            where = f"{run.task_id} clusters {a}-{b}"
            saved = self._store.get(where)
            if saved is None:
                saved = await asyncio.gather(
                    self._once(task, (programs[first], programs[second]), inputs, outputs),
                    self._once(task, (programs[second], programs[first]), inputs, outputs[::-1]),
                )
                self._store.put(where, *saved)
            forward, backward = saved
            a_wins = first_wins(forward, backward)
            winners[(a, b)] = None if a_wins is None else (a if a_wins else b)
            mixed = (first in run.correct) != (second in run.correct)
            right = None if a_wins is None or not mixed else a_wins == (first in run.correct)
            replayed.append(ReplayedMatch(where, forward, backward, mixed, right))
        pick = tournament_pick(run.trace, winners)
        return ReplayedRun(run.task_id, run.passed, pick in run.correct, tuple(replayed))

    async def _once(
        self,
        task: CodeTask,
        programs: tuple[str, str],
        inputs: tuple[str, ...],
        outputs: tuple[tuple[str, ...], ...],
    ) -> float | None:
        return await judge_pair(
            self._upstream, task=task, params=self._params, programs=programs,
            inputs=inputs, outputs=(outputs[0], outputs[1]),
        )  # fmt: skip


def render(result: Replay, *, mode: str, title: str) -> str:
    """Markdown: the matches between a correct and a wrong program, the runs whose answer
    changed, and the mode's pass@1 as recorded and as replayed."""
    out = [
        f"### {title}",
        "",
        "| match | P(A) forward | P(A) swapped | verdict |",
        "|---|---|---|---|",
    ]
    mixed = [m for run in result.runs for m in run.matches if m.mixed]
    for m in mixed:
        shown = "draw" if m.right is None else ("correct" if m.right else "wrong")
        out.append(f"| {m.where} | {_p(m.forward)} | {_p(m.backward)} | {shown} |")
    decided = [m.right for m in mixed if m.right is not None]
    judged = sum(len(r.matches) for r in result.runs)
    out.append(
        f"\n{len(mixed)} match(es) between a correct and a wrong program: {len(decided)} "
        f"decided, {sum(decided)} for the correct one ({judged} match(es) judged in all)."
    )
    changed = [r for r in result.runs if r.replayed != r.recorded]
    for r in changed:
        out.append(f"- {r.task_id}: {_outcome(r.recorded)} as recorded, {_outcome(r.replayed)}")
    out.append(
        f"\n`{mode}` pass@1 over {result.tasks} task(s): {_rate(result.passed, result.tasks)} "
        f"as recorded, {_rate(result.replayed_passed, result.tasks)} with this judge "
        f"({len(result.runs)} run(s) whose answer a verdict could change replayed)."
    )
    return "\n".join(out) + "\n"


def _outcome(passed: bool) -> str:
    return "pass" if passed else "fail"


def _rate(passed: int, total: int) -> str:
    return f"{passed}/{total} ({100 * passed / max(1, total):.1f} %)"


def _p(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = saved_run(args)
    if results is None:
        return 2
    with ExitStack() as stack:
        if args.base_url:
            api_base, model = args.base_url, args.model_name or "model"
        else:
            from proxy.local_model import LocalModelServer, prepare_local_model

            server = stack.enter_context(
                LocalModelServer(prepare_local_model(args.model), parallel=2, ctx_per_slot=8192)
            )
            api_base, model = server.api_base, server.model_name
        judged = f"-judge-{args.judge}-{model}"
        result = asyncio.run(
            replay(results, args.mode, api_base=api_base, model=model, judge=args.judge,
                   verdicts=results.data(f"{judged}.json"))
        )  # fmt: skip
    title = f"{args.name}: tournaments replayed with the {args.judge} judge of {model}"
    report = render(result, mode=args.mode, title=title)
    write_report(results.report(f"{judged}.md"), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
