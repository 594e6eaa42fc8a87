"""GCD Sweep (easy): gcd of all values and how many equal it; a single value is the edge case."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("4\n12 18 6 24\n", "6 1\n"),
    Sample("3\n5 7 1\n", "1 1\n"),
    Sample("2\n9 9\n", "9 2\n"),
)

STATEMENT = render_statement(
    title="GCD Sweep",
    story="You are given N positive integers A_1, ..., A_N. Let G be the greatest common divisor "
    "of all of them.\nPrint G and the number of indices i such that A_i = G.",
    constraints=["1 ≤ N ≤ 10^5", "1 ≤ A_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nA_1 A_2 ... A_N",
    output_format="Print G and the count, separated by a space.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
from math import gcd
data = sys.stdin.read().split()
n = int(data[0])
a = list(map(int, data[1:1 + n]))
g = 0
for x in a:
    g = gcd(g, x)
print(g, a.count(g))
"""


def generate(rng: random.Random) -> list[str]:
    n = 10**5
    cases = [
        lines(1, [1]),
        lines(1, [10**9]),
        lines(2, [10**9, 10**9]),
        lines(3, [4, 6, 9]),
        lines(4, [7, 14, 21, 28]),
        lines(3, [999999937, 999999937 * 1, 1]),
    ]
    for _ in range(12):
        size = rng.randint(1, 12)
        factor = rng.choice([1, 2, 3, 6, 10, 7])
        cases.append(lines(size, [factor * rng.randint(1, 8) for _ in range(size)]))
    cases.append(lines(n, [rng.randint(1, 10**9) for _ in range(n)]))
    cases.append(lines(n, [36 * rng.randint(1, 2 * 10**7) for _ in range(n)]))
    cases.append(lines(n, [12] * n))
    return cases


PROBLEM = StdinProblem(
    name="gcd_sweep",
    title="GCD Sweep",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
