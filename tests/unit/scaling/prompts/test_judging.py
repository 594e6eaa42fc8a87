"""The judges' prompts and the reading of their verdicts."""

from __future__ import annotations

import math

import pytest

from proxy.scaling.prompts.judging import (
    code_judge_prompt,
    execution_judge_prompt,
    letter_probability,
    parse_code_choice,
    parse_verdict,
)
from proxy.scaling.types import CodeTask
from proxy.upstream.base import Choice

TASK = CodeTask(problem="Double n.", conversation=(), kind="stdin", model="m")


@pytest.mark.parametrize("scored", [False, True])
def test_execution_judge_shows_both_programs_and_their_real_outputs(scored: bool) -> None:
    text = execution_judge_prompt(
        TASK,
        programs=("print(2)", "print(3)"),
        inputs=("1\n", "2\x00\n"),
        outputs=(("2", "4"), ("3", "RUNTIME_ERROR")),
        scored=scored,
    )
    assert "Double n." in text
    assert "Program A:\n```python\nprint(2)\n```" in text
    assert (
        "Input 2:\n2\\x00\n\nOutput of program A:\n4\nOutput of program B:\nRUNTIME_ERROR" in text
    )
    ending = "single letter A or B." if scored else "`Answer: A` or `Answer: B`."
    assert text.endswith(ending)


def test_code_judge_numbers_the_candidates_from_one() -> None:
    text = code_judge_prompt(TASK, programs=["a()", "b()"])
    assert "Candidate 1:\n```python\na()\n```\n\nCandidate 2:\n```python\nb()\n```" in text
    assert text.endswith("`Answer: <number>`.")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Program B prints 7.\nAnswer: B", "B"),
        ("**Answer:** A", "A"),
        ("Answer: `A`", "A"),
        ("answer: program b", "B"),
        ("<think>Answer: A</think>Final answer: B", "B"),
        ("Answer: A ... on reflection Answer: B", "B"),
        ("**Answer**: B", "B"),
        ("The answer is A.", "A"),
        ("Final Answer: **Program B**", "B"),
        ("Both are wrong.", None),
        ("Answer: both", None),
        ("", None),
    ],
)
def test_parse_verdict(text: str, verdict: str | None) -> None:
    assert parse_verdict(text) == verdict


def test_letter_probability_reads_both_letters_at_the_first_token() -> None:
    top = {"A": math.log(0.6), " B": math.log(0.2), "The": math.log(0.1)}
    assert letter_probability(Choice("A", top_logprobs=(top,))) == pytest.approx(0.75)
    assert letter_probability(Choice("B")) == 0.0  # no logprobs: the letter itself
    assert letter_probability(Choice("A")) == 1.0
    assert letter_probability(Choice("Program A", top_logprobs=({"Program": -0.1},))) is None


@pytest.mark.parametrize(
    ("text", "count", "choice"),
    [
        ("...\nAnswer: 2", 3, 2),
        ("Answer: candidate 3", 3, 3),
        ("Answer: 4", 3, None),
        ("?", 3, None),
    ],
)
def test_parse_code_choice(text: str, count: int, choice: int | None) -> None:
    assert parse_code_choice(text, count=count) == choice
