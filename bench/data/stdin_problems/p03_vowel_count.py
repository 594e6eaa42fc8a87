"""Vowel Count (easy): count a, e, i, o, u; 'y' is the trap, long strings the large case."""

from __future__ import annotations

import random
import string

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("programming\n", "3\n"),
    Sample("rhythm\n", "0\n"),
    Sample("aeiouy\n", "5\n"),
)

STATEMENT = render_statement(
    title="Vowel Count",
    story="You are given a string S consisting of lowercase English letters.\n"
    "Count how many characters of S are vowels. In this problem the vowels are exactly "
    "a, e, i, o and u (y is not a vowel).",
    constraints=["1 ≤ |S| ≤ 2 \u00d7 10^5", "S consists of lowercase English letters."],
    input_format="S",
    output_format="Print the number of vowels in S.",
    samples=SAMPLES,
)

REFERENCE = """\
s = input().strip()
print(sum(1 for c in s if c in "aeiou"))
"""


def _word(rng: random.Random, n: int, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n)) + "\n"


def generate(rng: random.Random) -> list[str]:
    cases = ["a\n", "b\n", "y\n", "aeiou\n", "yyyyy\n", "uuuuuuuuuu\n", "bcdfghjklmnpqrstvwxz\n"]
    for _ in range(12):
        cases.append(_word(rng, rng.randint(1, 50)))
    cases.append(_word(rng, 2 * 10**5))
    cases.append(_word(rng, 2 * 10**5, "aeiouy"))
    cases.append("z" * (2 * 10**5) + "\n")
    return cases


PROBLEM = StdinProblem(
    name="vowel_count",
    title="Vowel Count",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
