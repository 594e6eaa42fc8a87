"""Window Variety (hard): distinct values in every length-K window; needs a sliding counter."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("6 3\n1 2 1 3 3 3\n", "2 3 2 1\n"),
    Sample("3 3\n5 5 5\n", "1\n"),
)

STATEMENT = render_statement(
    title="Window Variety",
    story="You are given a sequence A_1, ..., A_N and an integer K.\nFor each i = 1, 2, ..., "
    "N - K + 1, let D_i be the number of distinct values among A_i, A_{i+1}, ..., A_{i+K-1}. "
    "Print D_1, ..., D_{N-K+1}.",
    constraints=[
        "1 ≤ K ≤ N ≤ 10^5",
        "1 ≤ A_i ≤ 10^9",
        "All values in the input are integers.",
    ],
    input_format="N K\nA_1 A_2 ... A_N",
    output_format="Print D_1, D_2, ..., D_{N-K+1} on one line, separated by spaces.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
from collections import defaultdict
data = sys.stdin.read().split()
n, k = int(data[0]), int(data[1])
a = data[2:2 + n]
count = defaultdict(int)
distinct = 0
out = []
for i in range(n):
    count[a[i]] += 1
    if count[a[i]] == 1:
        distinct += 1
    if i >= k:
        old = a[i - k]
        count[old] -= 1
        if count[old] == 0:
            distinct -= 1
    if i >= k - 1:
        out.append(distinct)
print(" ".join(map(str, out)))
"""


def generate(rng: random.Random) -> list[str]:
    n = 10**5
    cases = [
        lines("1 1", [7]),
        lines("5 1", [1, 2, 1, 2, 1]),
        lines("5 5", [1, 2, 3, 4, 5]),
        lines("4 2", [9, 9, 9, 9]),
        lines("6 2", [1, 2, 1, 2, 1, 2]),
        lines("3 2", [10**9, 1, 10**9]),
    ]
    for _ in range(12):
        size = rng.randint(1, 30)
        k = rng.randint(1, size)
        cases.append(lines(f"{size} {k}", [rng.randint(1, 6) for _ in range(size)]))
    cases.append(lines(f"{n} 1000", [rng.randint(1, 5000) for _ in range(n)]))
    cases.append(lines(f"{n} {n // 2}", [rng.randint(1, 10**9) for _ in range(n)]))
    cases.append(lines(f"{n} 3", [i % 7 + 1 for i in range(n)]))
    return cases


PROBLEM = StdinProblem(
    name="window_variety",
    title="Window Variety",
    difficulty="hard",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
