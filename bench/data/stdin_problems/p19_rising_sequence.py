"""Rising Sequence (hard): strictly increasing subsequence length for N = 10^5 needs O(N log N)."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("6\n3 1 4 1 5 9\n", "4\n"),
    Sample("4\n2 2 2 2\n", "1\n"),
)

STATEMENT = render_statement(
    title="Rising Sequence",
    story="You are given a sequence A_1, ..., A_N. Choose some of its elements, keeping their "
    "order, so that each chosen element is strictly greater than the previous chosen one.\n"
    "Print the maximum number of elements you can choose.",
    constraints=["1 ≤ N ≤ 10^5", "1 ≤ A_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nA_1 A_2 ... A_N",
    output_format="Print the length of the longest strictly increasing subsequence.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
from bisect import bisect_left
data = sys.stdin.read().split()
n = int(data[0])
tails = []
for x in map(int, data[1:1 + n]):
    i = bisect_left(tails, x)
    if i == len(tails):
        tails.append(x)
    else:
        tails[i] = x
print(len(tails))
"""


def generate(rng: random.Random) -> list[str]:
    n = 10**5
    cases = [
        lines(1, [5]),
        lines(2, [1, 2]),
        lines(2, [2, 1]),
        lines(5, [5, 4, 3, 2, 1]),
        lines(6, [1, 2, 2, 3, 3, 4]),
        lines(7, [10, 1, 11, 2, 12, 3, 13]),
    ]
    for _ in range(12):
        size = rng.randint(1, 25)
        cases.append(lines(size, [rng.randint(1, 12) for _ in range(size)]))
    cases.append(lines(n, [rng.randint(1, 10**9) for _ in range(n)]))
    cases.append(lines(n, list(range(1, n + 1))))
    cases.append(lines(n, [n - i + (i % 3) * n for i in range(n)]))
    return cases


PROBLEM = StdinProblem(
    name="rising_sequence",
    title="Rising Sequence",
    difficulty="hard",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
