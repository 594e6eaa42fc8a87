"""Palindrome Check (easy): several strings, Yes/No each; output format over several lines."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("3\nlevel\nabca\nz\n", "Yes\nNo\nYes\n"),
    Sample("2\nabba\nab\n", "Yes\nNo\n"),
)

STATEMENT = render_statement(
    title="Palindrome Check",
    story="A string is a palindrome if it reads the same forwards and backwards.\n"
    "You are given T strings S_1, ..., S_T. For each of them, decide whether it is a palindrome.",
    constraints=[
        "1 ≤ T ≤ 10^4",
        "1 ≤ |S_i| ≤ 100",
        "S_i consists of lowercase English letters.",
    ],
    input_format="T\nS_1\nS_2\n:\nS_T",
    output_format="Print T lines. The i-th line must be Yes if S_i is a palindrome, "
    "and No otherwise.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.read().split()
t = int(data[0])
print("\\n".join("Yes" if s == s[::-1] else "No" for s in data[1:1 + t]))
"""


def _string(rng: random.Random) -> str:
    half = "".join(rng.choice("ab") for _ in range(rng.randint(0, 50)))
    kind = rng.randrange(3)
    if kind == 0:
        return half + half[::-1] or "a"
    if kind == 1:
        return half + rng.choice("abc") + half[::-1]
    return "".join(rng.choice("abc") for _ in range(rng.randint(1, 100)))


def _case(strings: list[str]) -> str:
    return f"{len(strings)}\n" + "\n".join(strings) + "\n"


def generate(rng: random.Random) -> list[str]:
    cases = [
        _case(["a"]),
        _case(["ab"]),
        _case(["aa", "aba", "abb"]),
        _case(["abcdcba", "abcddcba", "abcdecba"]),
        _case(["z" * 100, "z" * 99 + "y"]),
    ]
    for _ in range(13):
        cases.append(_case([_string(rng) for _ in range(rng.randint(1, 20))]))
    cases.append(_case([_string(rng) for _ in range(10**4)]))
    cases.append(_case(["ab" * 50 if i % 2 else "a" * 100 for i in range(10**4)]))
    return cases


PROBLEM = StdinProblem(
    name="palindromes",
    title="Palindrome Check",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
