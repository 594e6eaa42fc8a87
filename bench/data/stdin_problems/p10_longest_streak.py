"""Longest Streak (easy): longest run of equal neighbours; runs at the very end are the trap."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("8\n1 1 2 2 2 3 1 1\n", "3\n"),
    Sample("3\n4 5 6\n", "1\n"),
)

STATEMENT = render_statement(
    title="Longest Streak",
    story="You are given a sequence of N integers A_1, ..., A_N.\n"
    "A streak is a block of consecutive positions whose values are all equal. "
    "Print the length of the longest streak.",
    constraints=["1 ≤ N ≤ 10^5", "1 ≤ A_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nA_1 A_2 ... A_N",
    output_format="Print the length of the longest streak.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.read().split()
n = int(data[0])
a = data[1:1 + n]
best = run = 1
for i in range(1, n):
    run = run + 1 if a[i] == a[i - 1] else 1
    best = max(best, run)
print(best)
"""


def generate(rng: random.Random) -> list[str]:
    n = 10**5
    cases = [
        lines(1, [7]),
        lines(2, [7, 7]),
        lines(2, [7, 8]),
        lines(6, [1, 2, 3, 3, 3, 3]),
        lines(6, [5, 5, 5, 1, 2, 3]),
        lines(7, [1, 2, 1, 2, 1, 2, 1]),
    ]
    for _ in range(12):
        size = rng.randint(1, 40)
        cases.append(lines(size, [rng.randint(1, 3) for _ in range(size)]))
    cases.append(lines(n, [rng.randint(1, 2) for _ in range(n)]))
    cases.append(lines(n, [10**9] * n))
    cases.append(lines(n, [i + 1 for i in range(n)]))
    return cases


PROBLEM = StdinProblem(
    name="longest_streak",
    title="Longest Streak",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
