"""Sum of Even Numbers (easy): a warm-up; hidden tests stress negatives, zeros and 10^5 values."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("5\n1 2 3 4 5\n", "6\n"),
    Sample("3\n-4 7 0\n", "-4\n"),
    Sample("2\n1 3\n", "0\n"),
)

STATEMENT = render_statement(
    title="Sum of Even Numbers",
    story="You are given N integers A_1, A_2, ..., A_N. Print the sum of those that are even.\n"
    "If none of them is even, print 0. Note that negative numbers and 0 can be even.",
    constraints=["1 ≤ N ≤ 10^5", "-10^9 ≤ A_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nA_1 A_2 ... A_N",
    output_format="Print the sum of the even numbers among A_1, ..., A_N.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.read().split()
n = int(data[0])
print(sum(x for x in map(int, data[1:1 + n]) if x % 2 == 0))
"""


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    cases = [
        lines(1, [7]),
        lines(1, [-8]),
        lines(1, [0]),
        lines(4, [1, 3, 5, -7]),
        lines(3, [big, big, big]),
        lines(3, [-big, -big, -big]),
        lines(5, [-2, -1, 0, 1, 2]),
    ]
    for _ in range(11):
        n = rng.randint(1, 30)
        cases.append(lines(n, [rng.randint(-100, 100) for _ in range(n)]))
    for _ in range(2):
        n = rng.randint(10**4, 10**5)
        cases.append(lines(n, [rng.randint(-big, big) for _ in range(n)]))
    cases.append(lines(10**5, [big - (i % 2) for i in range(10**5)]))
    return cases


PROBLEM = StdinProblem(
    name="sum_of_evens",
    title="Sum of Even Numbers",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
