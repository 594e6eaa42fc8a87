"""Replay a run's selection with this checkout's input variants, and with the greedy answer.

    .venv/bin/python -m bench.selection_replay                 # humaneval-dev-n8-r2
    .venv/bin/python -m bench.selection_replay --plain-from http://127.0.0.1:8000/v1

Two changes to selection are measured here without sampling again:

- **Input variants.** Most selection misses on the dev split are one cluster holding right and
  wrong programs: the inputs never told them apart. The distinct programs that reached selection
  run again in the sandbox on the inputs the run clustered on (``recorded``: its synthesized or
  public inputs plus the variants it recorded), and on the same synthesized inputs plus the
  variants :func:`proxy.scaling.replay.clustering_inputs` makes now (``current``).
- **The greedy answer as a candidate** (``--plain-from``): the plain temperature-0 answer to the
  same prompt takes the last sample's place and becomes the first candidate, as with
  ``SSTAR_GREEDY_SAMPLE``; it is filtered by the public tests like the rest but not debugged, and
  the engine's greedy sample also sees the format instruction, so this approximates it. The
  answers are asked once from the proxy at ``--plain-from`` (S* off) and kept in
  ``<name>-plain-programs.json`` in ``--data-dir``.

Each variant's pool is clustered and ranked as selection does, with no tournament wins, and the
pick is graded with the hidden tests in the sandbox. The comparison is paired: same candidates,
same synthesized inputs. Without wins the pick is ``majority``'s, and ``adaptive``'s when its
judge decides nothing (the 0.5B model's scored judge decided none of its matches on the dev
split). Only the dev split's traces are read: the run JSON and traces come from ``--data-dir``
(default ``~/.cache/sstar-proxy/bench``, see :mod:`bench.paths`), and the report
``<name>-selection.md`` goes to ``--results-dir`` (``bench/results``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.accuracy.client import PLAIN, ProxyClient, ScalingOptions, candidate_programs
from bench.accuracy.extraction import extract_program
from bench.accuracy.grading import Grader
from bench.accuracy.misses import public_passed
from bench.misses import GradedRun, graded_runs, saved_run, write_report
from bench.paths import ResultSet, add_dir_arguments, writable
from proxy.scaling.replay import (
    Behaviour,
    cluster_behaviours,
    clustering_inputs,
    normalise_program,
    rank_clusters,
    task_from_trace,
)
from proxy.scaling.types import CodeTask
from sandbox import ExecutionRequest, Limits, Sandbox, Status, behaviour_key, judge

GREEDY = -1  # the greedy answer's candidate index: below every sample's, so it wins ties
Inputs = Literal["recorded", "current"]
VARIANTS: tuple[tuple[Inputs, bool], ...] = (
    ("recorded", False),
    ("current", False),
    ("recorded", True),
    ("current", True),
)


@dataclass(frozen=True, slots=True)
class ReplayedRun:
    """One run's pick per variant (inputs, greedy answer included) and whether it is right."""

    task_id: str
    recorded: bool
    right: Mapping[tuple[Inputs, bool], bool]
    clusters: Mapping[tuple[Inputs, bool], int]
    greedy_right: bool | None = None  # None: no greedy answer stored


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.selection_replay", description=__doc__)
    p.add_argument("--name", default="humaneval-dev-n8-r2", help="results name")
    add_dir_arguments(p)
    p.add_argument("--mode", default="adaptive", help="the S* mode whose runs to replay")
    p.add_argument("--plain-from", default=None, help="proxy base URL for greedy answers")
    return p


@dataclass(frozen=True, slots=True)
class _Pool:
    """The distinct programs selection ranks: (program, candidate indices sharing it)."""

    programs: tuple[tuple[str, tuple[int, ...]], ...]
    passed: Mapping[int, int]


def selection_pool(trace: Mapping[str, Any], greedy: tuple[str, int] | None = None) -> _Pool:
    """The live candidates passing the most public tests, deduplicated as selection does;
    ``greedy`` (program, public tests passed) replaces the last sample as candidate
    :data:`GREEDY`."""
    programs, _ = candidate_programs(trace)
    passed = {
        int(c["index"]): public_passed(c)
        for c in trace.get("candidates") or ()
        if c.get("dropped_reason") is None and int(c["index"]) in programs
    }
    if greedy is not None and greedy[0].strip():
        # NOTE: the engine samples the greedy answer instead of one of the N, so it replaces
        # the last sample here.
        passed.pop(max(programs), None)
        programs[GREEDY], passed[GREEDY] = greedy
    best = max(passed.values(), default=0)
    groups: dict[str, list[int]] = {}
    for index in sorted(i for i, p in passed.items() if p == best):
        groups.setdefault(normalise_program(programs[index]), []).append(index)
    return _Pool(tuple((programs[g[0]], tuple(g)) for g in groups.values()), passed)


class _Replayer:
    """Runs programs in one sandbox and ranks clusters as selection does."""

    def __init__(self, sandbox: Sandbox, greedy: Mapping[str, str]) -> None:
        self._sandbox = sandbox
        self._greedy = greedy
        self._grader = Grader(sandbox)
        self._slots = asyncio.Semaphore(2)
        self._times: dict[str, float] = {}

    async def replay(self, run: GradedRun) -> ReplayedRun:
        trace = run.trace
        task = task_from_trace(trace)
        params = trace.get("params") or {}
        wall = float(params.get("exec_wall_time_s", 4.0))
        limits = Limits(wall_time_s=wall, cpu_time_s=wall, memory_mb=256)
        synthesized = tuple(str(i) for i in trace.get("synthesized_inputs") or ())
        public = tuple(t.input for t in task.public_tests)
        recorded_mutated = tuple(str(i) for i in trace.get("mutated_inputs") or ())
        inputs: dict[Inputs, tuple[str, ...]] = {
            "recorded": tuple(dict.fromkeys((*(synthesized or public), *recorded_mutated))),
            "current": clustering_inputs(
                task, synthesized, limit=int(params.get("num_synth_inputs", 8))
            )[0],
        }
        correct = set(run.correct)
        greedy = None
        program = self._greedy.get(run.task_id)
        if program:
            greedy = (program, await self._public_passed(task, program, limits))
            if await self._grader.grade(run.task, program):
                correct.add(GREEDY)
        right: dict[tuple[Inputs, bool], bool] = {}
        clusters: dict[tuple[Inputs, bool], int] = {}
        for which, with_greedy in VARIANTS:
            if with_greedy and greedy is None:
                continue
            pool = selection_pool(trace, greedy if with_greedy else None)
            chosen, count = await self._pick(task, pool, inputs[which], limits)
            right[(which, with_greedy)] = chosen in correct
            clusters[(which, with_greedy)] = count
        greedy_right = None if greedy is None else GREEDY in correct
        return ReplayedRun(run.task_id, run.passed, right, clusters, greedy_right)

    async def _pick(
        self, task: CodeTask, pool: _Pool, inputs: tuple[str, ...], limits: Limits
    ) -> tuple[int, int]:
        """The candidate selection answers with, and how many clusters it ranked."""
        if len(pool.programs) <= 1 or not inputs:
            return (pool.programs[0][1][0] if pool.programs else GREEDY), 0
        behaviours = []
        for program, members in pool.programs:
            runs = await self._run(task, program, inputs, limits)
            behaviours.append(
                Behaviour(
                    index=members[0],
                    members=members,
                    public_passed=pool.passed[members[0]],
                    # NOTE: one time per program for every input set, so that timing noise
                    # cannot change a cluster's representative between variants.
                    time_s=self._times.setdefault(program, sum(r.time_s for r in runs)),
                    signature=tuple(behaviour_key(r, task.kind) for r in runs),
                )
            )
        ranked = cluster_behaviours(behaviours)
        total = max(1, len(task.public_tests))
        rate = {c.id: pool.passed[c.representative] / total for c in ranked}
        return rank_clusters(ranked, wins={}, public_rate=rate)[0].representative, len(ranked)

    async def _public_passed(self, task: CodeTask, program: str, limits: Limits) -> int:
        runs = await self._run(task, program, tuple(t.input for t in task.public_tests), limits)
        return sum(
            judge(r, t.expected, task_mode=task.kind, compare_mode=task.compare_mode) is Status.OK
            for r, t in zip(runs, task.public_tests, strict=True)
        )

    async def _run(
        self, task: CodeTask, program: str, inputs: tuple[str, ...], limits: Limits
    ) -> Sequence[Any]:
        entry = task.signature.entry_point if task.signature else None
        request = ExecutionRequest(
            program=program, inputs=inputs, mode=task.kind, entry_point=entry, limits=limits
        )
        async with self._slots:
            return (await self._sandbox.run(request)).runs


async def greedy_answers(
    store: Path, runs: Sequence[GradedRun], base_url: str | None
) -> dict[str, str]:
    """Each run's greedy (plain, temperature 0) program: read from ``store``, the missing ones
    asked from the proxy at ``base_url`` (if given) and written through."""
    answers = _read_answers(store)
    missing = [r for r in runs if r.task_id not in answers]
    if base_url is None or not missing:
        return answers
    client = ProxyClient(base_url=base_url)
    try:
        for run in missing:
            attempt = await client.attempt(run.task.message, PLAIN, ScalingOptions())
            if attempt.error is None:
                answers[run.task_id] = extract_program(
                    attempt.answer, entry_point=run.task.entry_point
                )
                _write_answers(store, answers)
    finally:
        await client.aclose()
    return answers


def _read_answers(store: Path) -> dict[str, str]:
    return dict(json.loads(store.read_text())) if store.exists() else {}


def _write_answers(store: Path, answers: Mapping[str, str]) -> None:
    writable(store).write_text(json.dumps(answers, indent=1, sort_keys=True))


async def replay(
    results: ResultSet, mode: str, *, plain_from: str | None
) -> tuple[list[ReplayedRun], int]:
    """Every run of ``mode`` replayed, and how many there are."""
    from sandbox import BubblewrapSandbox

    graded, _ = await graded_runs(results, mode, every_run=True)
    greedy = await greedy_answers(results.data("-plain-programs.json"), graded, plain_from)
    sandbox = await BubblewrapSandbox.create()
    try:
        replayer = _Replayer(sandbox, greedy)
        return [await replayer.replay(run) for run in graded], len(graded)
    finally:
        await sandbox.aclose()


_LABELS = {
    ("recorded", False): "recorded inputs",
    ("current", False): "this checkout's input variants",
    ("recorded", True): "recorded inputs + greedy answer",
    ("current", True): "this checkout's input variants + greedy answer",
}


def render(runs: Sequence[ReplayedRun], *, title: str) -> str:
    """A markdown table of pass@1 per variant, then the runs whose outcome differs."""
    total = len(runs)
    variants = [v for v in VARIANTS if all(v in r.right for r in runs)]
    out = [
        f"### {title}",
        "",
        f"{total} runs with saved traces; pass@1 of selection without tournament wins.",
        "",
        "| selection replayed with | pass@1 |",
        "|---|---|",
        f"| (the run as recorded) | {_rate(sum(r.recorded for r in runs), total)} |",
    ]
    out += [f"| {_LABELS[v]} | {_rate(sum(r.right[v] for r in runs), total)} |" for v in variants]
    greedy = [r.greedy_right for r in runs if r.greedy_right is not None]
    if greedy:
        out += ["", f"The greedy answers alone pass {_rate(sum(greedy), len(greedy))}."]
    out += ["", "| task | recorded | " + " | ".join(_LABELS[v] for v in variants) + " |"]
    out.append("|---|---|" + "---|" * len(variants))
    for r in runs:
        outcomes = [r.recorded, *(r.right[v] for v in variants)]
        if len(set(outcomes)) > 1:
            cells = [_yes(r.recorded)]
            cells += [f"{_yes(r.right[v])} ({r.clusters[v]} cl.)" for v in variants]
            out.append(f"| {r.task_id} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _rate(passed: int, total: int) -> str:
    return f"{passed}/{total} ({100 * passed / max(1, total):.1f} %)"


def _yes(value: bool) -> str:
    return "pass" if value else "fail"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = saved_run(args)
    if results is None:
        return 2
    runs, _ = asyncio.run(replay(results, args.mode, plain_from=args.plain_from))
    report = render(runs, title=f"{args.name}: selection replayed")
    write_report(results.report("-selection.md"), report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
