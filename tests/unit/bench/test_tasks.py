"""Benchmark tasks: the dev split is even HumanEval tasks only; messages read like a user's."""

from __future__ import annotations

from bench.accuracy.tasks import (
    HUMANEVAL_INSTRUCTION,
    humaneval_number,
    in_split,
    load_humaneval,
    load_stdin,
)


def test_dev_split_is_the_even_tasks_only():
    tasks = load_humaneval("dev")
    assert len(tasks) == 82
    assert all(humaneval_number(t.task_id) % 2 == 0 for t in tasks)
    assert [t.task_id for t in tasks[:3]] == ["HumanEval/0", "HumanEval/2", "HumanEval/4"]
    assert not in_split("HumanEval/1", "dev")
    assert in_split("HumanEval/1", "all")


def test_limit_and_the_humaneval_message():
    (task,) = load_humaneval("dev", limit=1)
    assert task.message.startswith(HUMANEVAL_INSTRUCTION + "\n\n```python\n")
    assert task.prompt.rstrip() in task.message
    assert task.entry_point == "has_close_elements"
    assert task.test_code is not None
    assert "def check(candidate)" in task.test_code
    assert task.test_code not in task.message


def test_stdin_tasks_carry_hidden_tests_but_show_only_the_statement():
    tasks = load_stdin(limit=2)
    assert [t.task_id for t in tasks] == ["stdin/sum_of_evens", "stdin/temperature_swing"]
    first = tasks[0]
    assert "Sample Input 1" in first.message
    assert "standard input" in first.message
    assert len(first.tests) >= 20
    assert first.tests[-1].input not in first.message
    (named,) = load_stdin(names={"gcd_sweep"}, seed=1)
    assert named.task_id == "stdin/gcd_sweep"
