"""Pairs with Target Sum (medium): count i<j with A_i+A_j=K; the large cases rule out O(N^2)."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("5 6\n1 5 3 3 2\n", "2\n"),
    Sample("4 4\n2 2 2 2\n", "6\n"),
    Sample("3 100\n1 2 3\n", "0\n"),
)

STATEMENT = render_statement(
    title="Pairs with Target Sum",
    story="You are given N integers A_1, ..., A_N and an integer K.\n"
    "Count the pairs of indices (i, j) with 1 ≤ i < j ≤ N such that A_i + A_j = K.",
    constraints=[
        "1 ≤ N ≤ 10^5",
        "-10^9 ≤ A_i ≤ 10^9",
        "-2 \u00d7 10^9 ≤ K ≤ 2 \u00d7 10^9",
        "All values in the input are integers.",
    ],
    input_format="N K\nA_1 A_2 ... A_N",
    output_format="Print the number of pairs. Note that the answer may not fit in 32 bits.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
from collections import defaultdict
data = sys.stdin.read().split()
n, k = int(data[0]), int(data[1])
seen = defaultdict(int)
count = 0
for x in map(int, data[2:2 + n]):
    count += seen[k - x]
    seen[x] += 1
print(count)
"""


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    n = 10**5
    cases = [
        lines("1 2", [1]),
        lines("2 2", [1, 1]),
        lines("2 0", [-5, 5]),
        lines("3 0", [0, 0, 0]),
        lines(f"2 {2 * big}", [big, big]),
        lines(f"2 {-2 * big}", [-big, -big]),
        lines("4 10", [5, 5, 5, 1]),
    ]
    for _ in range(11):
        size = rng.randint(1, 40)
        cases.append(
            lines(f"{size} {rng.randint(-10, 10)}", [rng.randint(-6, 6) for _ in range(size)])
        )
    cases.append(lines(f"{n} 0", [rng.randint(-1000, 1000) for _ in range(n)]))
    cases.append(lines(f"{n} 14", [7] * n))
    cases.append(lines(f"{n} 3", [rng.randint(-big, big) for _ in range(n)]))
    return cases


PROBLEM = StdinProblem(
    name="target_pairs",
    title="Pairs with Target Sum",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
