"""Best Stretch (medium): maximum non-empty subarray sum; all-negative input is the classic trap."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("6\n2 -5 3 1 -1 4\n", "7\n"),
    Sample("3\n-3 -1 -2\n", "-1\n"),
)

STATEMENT = render_statement(
    title="Best Stretch",
    story="A shop recorded its profit for N consecutive days: P_1, ..., P_N (a loss is negative).\n"
    "Choose a non-empty stretch of consecutive days so that the total profit of those days is as "
    "large as possible, and print that total.",
    constraints=["1 ≤ N ≤ 10^5", "-10^9 ≤ P_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nP_1 P_2 ... P_N",
    output_format="Print the maximum total profit of a non-empty stretch of consecutive days.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.read().split()
n = int(data[0])
best = None
current = 0
for x in map(int, data[1:1 + n]):
    current = max(x, current + x)
    best = current if best is None else max(best, current)
print(best)
"""


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    n = 10**5
    cases = [
        lines(1, [-big]),
        lines(1, [big]),
        lines(1, [0]),
        lines(4, [-5, -2, -9, -2]),
        lines(5, [1, -1, 1, -1, 1]),
        lines(5, [-1, 10, -100, 10, -1]),
        lines(3, [big, -1, big]),
    ]
    for _ in range(11):
        size = rng.randint(1, 30)
        cases.append(lines(size, [rng.randint(-20, 15) for _ in range(size)]))
    cases.append(lines(n, [rng.randint(-big, big) for _ in range(n)]))
    cases.append(lines(n, [-rng.randint(1, big) for _ in range(n)]))
    cases.append(lines(n, [big] * n))
    return cases


PROBLEM = StdinProblem(
    name="best_stretch",
    title="Best Stretch",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
