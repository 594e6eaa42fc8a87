"""Running Total (easy): prefix sums printed on one line; the large case needs fast output."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("4\n1 2 3 4\n", "1 3 6 10\n"),
    Sample("3\n5 -5 2\n", "5 0 2\n"),
)

STATEMENT = render_statement(
    title="Running Total",
    story="You are given N integers A_1, ..., A_N.\n"
    "For every i from 1 to N, compute S_i = A_1 + A_2 + ... + A_i, and print S_1, ..., S_N.",
    constraints=["1 ≤ N ≤ 10^5", "-10^9 ≤ A_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nA_1 A_2 ... A_N",
    output_format="Print S_1, S_2, ..., S_N on one line, separated by spaces.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
from itertools import accumulate
data = sys.stdin.read().split()
n = int(data[0])
print(" ".join(map(str, accumulate(map(int, data[1:1 + n])))))
"""


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    cases = [
        lines(1, [0]),
        lines(1, [-big]),
        lines(2, [big, big]),
        lines(3, [-1, 1, -1]),
        lines(5, [0, 0, 0, 0, 0]),
    ]
    for _ in range(13):
        n = rng.randint(1, 30)
        cases.append(lines(n, [rng.randint(-50, 50) for _ in range(n)]))
    n = 10**5
    cases.append(lines(n, [rng.randint(-big, big) for _ in range(n)]))
    cases.append(lines(n, [big] * n))
    return cases


PROBLEM = StdinProblem(
    name="running_total",
    title="Running Total",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
