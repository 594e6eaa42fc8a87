"""The benchmark loop: every (task, mode) pair through the proxy, graded, saved as it finishes.

Tasks run ``concurrency`` at a time; within a task the modes run one after another, so the modes
of one problem see the same machine load. Each finished pair is saved at once (resumable) and
advances the progress bar.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from bench.accuracy.client import PLAIN, Attempt, ScalingOptions
from bench.accuracy.extraction import extract_program
from bench.accuracy.store import Record, ResultStore
from bench.accuracy.tasks import BenchTask


class Asker(Protocol):
    """Sends one task message in one mode (``ProxyClient`` in production)."""

    async def attempt(self, message: str, mode: str, options: ScalingOptions) -> Attempt: ...


class Judge(Protocol):
    """Grades one program against a task's hidden tests (``Grader`` in production)."""

    async def grade(self, task: BenchTask, program: str) -> bool: ...


async def grade_candidates(judge: Judge, task: BenchTask, programs: Sequence[str]) -> list[bool]:
    """A verdict per candidate program; identical programs are graded once."""
    unique = list(dict.fromkeys(programs))
    verdicts = await asyncio.gather(*(judge.grade(task, p) for p in unique))
    by_program = dict(zip(unique, verdicts, strict=True))
    return [by_program[p] for p in programs]


async def evaluate(
    task: BenchTask, mode: str, *, asker: Asker, judge: Judge, options: ScalingOptions
) -> tuple[Record, Attempt]:
    """Ask, extract the answer's program, grade it and every traced candidate."""
    attempt = await asker.attempt(task.message, mode, options)
    if attempt.error is not None:
        failed = Record(task.suite, task.task_id, mode, passed=False, oracle_passed=False,
                        wall_s=attempt.wall_s, error=attempt.error)  # fmt: skip
        return failed, attempt
    program = extract_program(attempt.answer, entry_point=task.entry_point)
    passed = await judge.grade(task, program)
    verdicts = await grade_candidates(judge, task, attempt.candidates) if mode != PLAIN else []
    record = Record(
        task.suite,
        task.task_id,
        mode,
        passed=passed,
        oracle_passed=passed or any(verdicts),
        candidates=len(verdicts),
        candidates_passed=sum(verdicts),
        selected=attempt.selected,
        prompt_tokens=attempt.prompt_tokens,
        completion_tokens=attempt.completion_tokens,
        wall_s=attempt.wall_s,
        applied=attempt.applied,
        reason=attempt.reason,
        run_id=attempt.run_id,
    )
    return record, attempt


def save_trace(traces_dir: Path, record: Record, attempt: Attempt) -> None:
    """Keep the full run trace for later analysis of where selection went wrong."""
    if attempt.trace is None:
        return
    path = traces_dir / record.mode / (record.task_id.replace("/", "_") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(attempt.trace, indent=1, default=str) + "\n")


async def run_benchmark(
    tasks: Sequence[BenchTask],
    modes: Sequence[str],
    *,
    asker: Asker,
    judge: Judge,
    store: ResultStore,
    options: ScalingOptions,
    concurrency: int = 1,
    traces_dir: Path | None = None,
    progress: bool = True,
) -> int:
    """Run every unfinished pair; returns how many pairs ran now (finished ones are skipped)."""
    todo = [(t, [m for m in modes if not store.done(t.suite, t.task_id, m)]) for t in tasks]
    todo = [(t, ms) for t, ms in todo if ms]
    total = len(tasks) * len(modes)
    remaining = sum(len(ms) for _, ms in todo)
    bar = tqdm(total=total, initial=total - remaining, unit="answer", disable=not progress)
    slots = asyncio.Semaphore(max(1, concurrency))

    async def run_task(task: BenchTask, task_modes: list[str]) -> None:
        async with slots:
            for mode in task_modes:
                bar.set_description(f"{task.task_id} {mode}")
                record, attempt = await evaluate(
                    task, mode, asker=asker, judge=judge, options=options
                )
                store.add(record)
                if traces_dir is not None:
                    save_trace(traces_dir, record, attempt)
                bar.update(1)

    try:
        async with asyncio.TaskGroup() as group:
            for task, task_modes in todo:
                group.create_task(run_task(task, task_modes))
    finally:
        bar.close()
    return remaining
