"""Explain the selection misses of an accuracy run from its saved traces.

    .venv/bin/python -m bench.misses                       # humaneval-dev-n8-r2
    .venv/bin/python -m bench.misses --name my-run

Reads the run data in ``--data-dir`` (default ``~/.cache/sstar-proxy/bench``, see
:mod:`bench.paths`): ``<name>.json`` and the traces the run saved (``--save-traces``,
``<name>-traces/``). Grades every candidate of each missed problem again in the sandbox (the
run JSON keeps only counts) and writes the report ``<name>-misses.md`` to ``--results-dir``
(``bench/results``): per miss, which selection step lost the correct program
(:mod:`bench.accuracy.misses`). Only the dev split is ever loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.accuracy.client import candidate_programs
from bench.accuracy.grading import Grader
from bench.accuracy.misses import (
    JudgeTally,
    Miss,
    RepresentativeTally,
    classify,
    render_judge,
    render_misses,
    render_representatives,
    tally_judge,
    tally_representatives,
)
from bench.accuracy.runner import grade_candidates
from bench.accuracy.tasks import BenchTask, load_humaneval, load_stdin
from bench.paths import ResultSet, add_dir_arguments, writable


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.misses", description=__doc__)
    p.add_argument("--name", default="humaneval-dev-n8-r2", help="results name")
    add_dir_arguments(p)
    p.add_argument("--mode", default="adaptive", help="the S* mode whose runs to explain")
    return p


def _tasks(records: Sequence[dict[str, object]], seed: int) -> dict[str, BenchTask]:
    ids = {str(r["task_id"]) for r in records}
    stdin_names = {i.split("/", 1)[1] for i in ids if i.startswith("stdin/")}
    tasks = [t for t in load_humaneval("dev") if t.task_id in ids]
    tasks += load_stdin(seed=seed, names=stdin_names) if stdin_names else []
    return {t.task_id: t for t in tasks}


@dataclass(frozen=True, slots=True)
class GradedRun:
    """A saved run trace whose candidates were graded again with the hidden tests."""

    task_id: str
    trace: dict[str, Any]
    correct: set[int]
    passed: bool
    task: BenchTask


def mode_records(data: Mapping[str, Any], mode: str) -> list[dict[str, Any]]:
    """The finished runs ``mode`` made itself (not read off another mode's run)."""
    return [
        r
        for r in data["records"]
        if r["mode"] == mode and r.get("error") is None and r.get("derived_from") is None
    ]


async def graded_runs(
    results: ResultSet, mode: str, *, every_run: bool = False
) -> tuple[list[GradedRun], int]:
    """The runs of ``mode`` with a correct candidate (``every_run``: all runs) and a saved
    trace, every candidate graded. Also returns how many runs had a correct candidate."""
    from sandbox import BubblewrapSandbox

    data = json.loads(results.runs.read_text())
    records = mode_records(data, mode)
    with_correct = [r for r in records if r["oracle_passed"]]
    tasks = _tasks(records, int(data.get("config", {}).get("seed", 0)))
    traces = results.traces / mode
    sandbox = await BubblewrapSandbox.create()
    graded = []
    try:
        grader = Grader(sandbox)
        for record in records if every_run else with_correct:
            task_id = str(record["task_id"])
            path = traces / (task_id.replace("/", "_") + ".json")
            if task_id not in tasks or not path.exists():
                continue  # an odd (held-out) task or a run saved without its trace
            trace = json.loads(path.read_text())
            programs, _ = candidate_programs(trace)
            verdicts = await grade_candidates(grader, tasks[task_id], programs)
            correct = {i for i, ok in verdicts.items() if ok}
            graded.append(
                GradedRun(task_id, trace, correct, bool(record["passed"]), tasks[task_id])
            )
    finally:
        await sandbox.aclose()
    return graded, len(with_correct)


@dataclass(frozen=True, slots=True)
class Explanation:
    """The misses of a mode, how many runs had a correct candidate, how the judge did in every
    run whose tournament played, and what another representative rule would change."""

    misses: list[Miss]
    runs: int
    judge: JudgeTally
    representatives: RepresentativeTally

    def render(self) -> str:
        return (
            f"{render_misses(self.misses, runs=self.runs)}\n{render_judge(self.judge)}\n"
            f"{render_representatives(self.representatives)}"
        )


async def explain(results: ResultSet, mode: str) -> Explanation:
    """Read and grade the runs of ``mode`` in ``results``; see :class:`Explanation`."""
    graded, runs = await graded_runs(results, mode)
    misses = [classify(g.task_id, g.trace, g.correct) for g in graded if g.correct and not g.passed]
    return Explanation(
        misses,
        runs,
        tally_judge((g.trace, g.correct) for g in graded),
        tally_representatives((g.trace, candidate_programs(g.trace)[0], g.correct) for g in graded),
    )


def saved_run(args: argparse.Namespace) -> ResultSet | None:
    """The results ``--name`` if its run JSON is in ``--data-dir``, else ``None`` and a message."""
    results = ResultSet.from_args(args)
    if results.runs.exists():
        return results
    print(f"error: no run data at {results.runs} (see --data-dir)", file=sys.stderr)
    return None


def write_report(out: Path, report: str) -> None:
    """Write a replay's or analysis's markdown report and show it."""
    writable(out).write_text(report)
    print(report)
    print(f"written to {out}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = saved_run(args)
    if results is None:
        return 2
    report = asyncio.run(explain(results, args.mode)).render()
    out = results.report("-misses.md")
    write_report(out, f"### Selection misses of `{args.mode}` in {args.name}\n\n{report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
