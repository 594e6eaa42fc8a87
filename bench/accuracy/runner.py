"""The benchmark loop: every (task, mode) pair through the proxy, graded, saved as it finishes.

Paired by default: the cheaper selection modes are steps of the dearer ones, and the proxy's run
trace records each step's pick (``picks``), so one ``adaptive`` run also yields what ``public``
and ``majority`` would have answered from the *same* candidates, with the tokens those modes
would have spent and the time their pick was known. That makes the comparison between modes
paired (no sampling noise between them) and about three times cheaper than re-sampling per mode.
``paired=False`` sends every mode as its own request instead.

Tasks run ``concurrency`` at a time; within a task the requests run one after another, so the
modes of one problem see the same machine load. Each finished request's records are saved at
once (resumable) and advance the progress bar.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from bench.accuracy.client import PLAIN, Attempt, ScalingOptions, trace_stages
from bench.accuracy.extraction import extract_program
from bench.accuracy.store import Record, ResultStore
from bench.accuracy.tasks import BenchTask

# Modes whose answer a run in the key mode also records (its selection passes through them).
STEPS_OF: Mapping[str, tuple[str, ...]] = {
    "adaptive": ("first", "public", "majority"),
    "majority": ("first", "public"),
    "judge": ("first", "public"),
    "public": ("first",),
}
_DEAREST_FIRST = ("adaptive", "majority", "judge", "public", "first")


class Asker(Protocol):
    """Sends one task message in one mode (``ProxyClient`` in production)."""

    async def attempt(self, message: str, mode: str, options: ScalingOptions) -> Attempt: ...


class Judge(Protocol):
    """Grades one program against a task's hidden tests (``Grader`` in production)."""

    async def grade(self, task: BenchTask, program: str) -> bool: ...


def plan_requests(modes: Sequence[str], *, paired: bool) -> list[tuple[str, tuple[str, ...]]]:
    """The requests to send per task, each with the modes read from its trace's picks.

    >>> plan_requests(["plain", "majority", "public", "adaptive"], paired=True)
    [('plain', ()), ('adaptive', ('majority', 'public'))]
    """
    if not paired:
        return [(mode, ()) for mode in modes]
    plan: list[tuple[str, tuple[str, ...]]] = [(PLAIN, ())] if PLAIN in modes else []
    covered: set[str] = set()
    for mode in sorted((m for m in modes if m != PLAIN), key=_DEAREST_FIRST.index):
        if mode in covered:
            continue
        steps = tuple(m for m in STEPS_OF.get(mode, ()) if m in modes and m not in covered)
        steps = tuple(sorted(steps, key=list(modes).index))
        covered.update((mode, *steps))
        plan.append((mode, steps))
    return plan


async def grade_candidates(
    judge: Judge, task: BenchTask, programs: Mapping[int, str]
) -> dict[int, bool]:
    """A verdict per candidate; identical programs are graded once."""
    unique = list(dict.fromkeys(programs.values()))
    verdicts = await asyncio.gather(*(judge.grade(task, p) for p in unique))
    by_program = dict(zip(unique, verdicts, strict=True))
    return {index: by_program[program] for index, program in programs.items()}


async def evaluate(
    task: BenchTask,
    mode: str,
    *,
    asker: Asker,
    judge: Judge,
    options: ScalingOptions,
    derived: Sequence[str] = (),
) -> tuple[list[Record], Attempt]:
    """Ask, extract the answer's program, grade it and every traced candidate.

    Returns the record of ``mode`` first, then one per ``derived`` mode read from the trace.
    """
    attempt = await asker.attempt(task.message, mode, options)
    if attempt.error is not None:
        failed = Record(task.suite, task.task_id, mode, passed=False, oracle_passed=False,
                        wall_s=attempt.wall_s, error=attempt.error)  # fmt: skip
        return [failed, *_read_off(failed, attempt, {}, derived)], attempt
    program = extract_program(attempt.answer, entry_point=task.entry_point)
    passed = await judge.grade(task, program)
    verdicts = await grade_candidates(judge, task, attempt.candidates) if mode != PLAIN else {}
    record = Record(
        task.suite,
        task.task_id,
        mode,
        passed=passed,
        oracle_passed=passed or any(verdicts.values()),
        candidates=len(verdicts),
        candidates_passed=sum(verdicts.values()),
        selected=attempt.selected,
        prompt_tokens=attempt.prompt_tokens,
        completion_tokens=attempt.completion_tokens,
        wall_s=attempt.wall_s,
        applied=attempt.applied,
        reason=attempt.reason,
        run_id=attempt.run_id,
        stages=trace_stages(attempt.trace),
        early_stop=bool((attempt.trace or {}).get("early_stop")),
        plan=(attempt.trace or {}).get("plan") or None,
    )
    return [record, *_read_off(record, attempt, verdicts, derived)], attempt


def _read_off(
    run: Record, attempt: Attempt, verdicts: Mapping[int, bool], modes: Sequence[str]
) -> Iterator[Record]:
    """The records of ``modes`` as the run's trace picked them.

    A mode without a pick in the trace (an erred or passed-through request, or a run whose
    samples had no code: every mode answers the same then) takes the run's own outcome.
    """
    picks = {p.selection: p for p in attempt.picks}
    for mode in modes:
        pick = picks.get(mode)
        if run.error is not None or pick is None or pick.candidate not in verdicts:
            yield dataclasses.replace(run, mode=mode, derived_from=run.mode)
            continue
        yield dataclasses.replace(
            run,
            mode=mode,
            stages=None,  # NOTE: the run's stages are the dearer mode's, counted there
            passed=verdicts[pick.candidate],
            selected=pick.candidate,
            prompt_tokens=pick.prompt_tokens,
            completion_tokens=pick.completion_tokens,
            wall_s=pick.wall_s,
            derived_from=run.mode,
        )


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
    paired: bool = True,
) -> int:
    """Run every unfinished pair; returns how many pairs ran now (finished ones are skipped)."""
    plan = plan_requests(modes, paired=paired)

    def unfinished(task: BenchTask) -> list[tuple[str, tuple[str, ...]]]:
        return [
            (mode, derived)
            for mode, derived in plan
            if not all(store.done(task.suite, task.task_id, m) for m in (mode, *derived))
        ]

    todo = [(t, requests) for t in tasks if (requests := unfinished(t))]
    total = len(tasks) * len(modes)
    remaining = sum(1 + len(derived) for _, requests in todo for _, derived in requests)
    bar = tqdm(total=total, initial=total - remaining, unit="answer", disable=not progress)
    slots = asyncio.Semaphore(max(1, concurrency))

    async def run_task(task: BenchTask, requests: list[tuple[str, tuple[str, ...]]]) -> None:
        async with slots:
            for mode, derived in requests:
                bar.set_description(f"{task.task_id} {mode}")
                records, attempt = await evaluate(
                    task, mode, asker=asker, judge=judge, options=options, derived=derived
                )
                for record in records:
                    store.add(record)
                if traces_dir is not None:
                    save_trace(traces_dir, records[0], attempt)
                bar.update(len(records))

    try:
        async with asyncio.TaskGroup() as group:
            for task, requests in todo:
                group.create_task(run_task(task, requests))
    finally:
        bar.close()
    return remaining
