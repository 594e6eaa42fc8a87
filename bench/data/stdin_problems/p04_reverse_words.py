"""Reverse the Sentence (easy): print words in reverse order; one-word lines are the edge case."""

from __future__ import annotations

import random
import string

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("the quick brown fox\n", "fox brown quick the\n"),
    Sample("hello\n", "hello\n"),
)

STATEMENT = render_statement(
    title="Reverse the Sentence",
    story="You are given one line containing words separated by single spaces.\n"
    "Print the same words in reverse order, separated by single spaces.",
    constraints=[
        "The line contains between 1 and 10^5 words.",
        "Each word consists of 1 to 10 lowercase English letters.",
    ],
    input_format="W_1 W_2 ... W_K",
    output_format="Print W_K W_{K-1} ... W_1 on one line, separated by single spaces.",
    samples=SAMPLES,
)

REFERENCE = """\
words = input().split()
print(" ".join(reversed(words)))
"""


def _sentence(rng: random.Random, k: int) -> str:
    words = (
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 10)))
        for _ in range(k)
    )
    return " ".join(words) + "\n"


def generate(rng: random.Random) -> list[str]:
    cases = ["a\n", "ab ba\n", "x y z\n", "same same same\n", "abcdefghij\n", "a b a b a\n"]
    for _ in range(12):
        cases.append(_sentence(rng, rng.randint(1, 30)))
    cases.append(_sentence(rng, 10**5))
    cases.append(" ".join(str(chr(97 + i % 26)) for i in range(10**5)) + "\n")
    return cases


PROBLEM = StdinProblem(
    name="reverse_words",
    title="Reverse the Sentence",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
