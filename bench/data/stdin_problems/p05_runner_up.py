"""Runner-up Score (easy): second largest *distinct* value or -1; duplicates of the maximum trap."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("5\n2 9 4 9 7\n", "7\n"),
    Sample("3\n6 6 6\n", "-1\n"),
    Sample("1\n100\n", "-1\n"),
)

STATEMENT = render_statement(
    title="Runner-up Score",
    story="N players took part in a contest and player i scored A_i points.\n"
    "Print the second largest distinct score, that is, the largest score that is strictly "
    "smaller than the maximum score. If every player has the same score, print -1.",
    constraints=["1 ≤ N ≤ 10^5", "0 ≤ A_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nA_1 A_2 ... A_N",
    output_format="Print the runner-up score, or -1 if it does not exist.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.read().split()
n = int(data[0])
values = set(map(int, data[1:1 + n]))
if len(values) < 2:
    print(-1)
else:
    values.discard(max(values))
    print(max(values))
"""


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    cases = [
        lines(1, [0]),
        lines(2, [5, 5]),
        lines(2, [0, big]),
        lines(4, [big, big, big, big - 1]),
        lines(5, [1, 2, 3, 4, 5]),
        lines(5, [5, 4, 3, 2, 1]),
        lines(3, [0, 0, 1]),
    ]
    for _ in range(11):
        n = rng.randint(1, 25)
        cases.append(lines(n, [rng.randint(0, 10) for _ in range(n)]))
    n = 10**5
    cases.append(lines(n, [rng.randint(0, big) for _ in range(n)]))
    cases.append(lines(n, [big] * n))
    cases.append(lines(n, [big] * (n - 1) + [0]))
    return cases


PROBLEM = StdinProblem(
    name="runner_up",
    title="Runner-up Score",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
