"""Temperature Swing (easy): max minus min; edge cases are a single reading and all-equal values."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("4\n3 -2 10 7\n", "12\n"),
    Sample("1\n5\n", "0\n"),
)

STATEMENT = render_statement(
    title="Temperature Swing",
    story="A weather station recorded N temperatures T_1, T_2, ..., T_N during one day.\n"
    "The swing of the day is the highest recorded temperature minus the lowest one. "
    "Print the swing.",
    constraints=["1 ≤ N ≤ 10^5", "-10^9 ≤ T_i ≤ 10^9", "All values in the input are integers."],
    input_format="N\nT_1 T_2 ... T_N",
    output_format="Print the swing as an integer.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.read().split()
n = int(data[0])
values = list(map(int, data[1:1 + n]))
print(max(values) - min(values))
"""


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    cases = [
        lines(1, [-big]),
        lines(2, [big, -big]),
        lines(3, [4, 4, 4]),
        lines(2, [-5, -9]),
        lines(5, [0, 0, 0, 0, 1]),
    ]
    for _ in range(12):
        n = rng.randint(1, 40)
        cases.append(lines(n, [rng.randint(-1000, 1000) for _ in range(n)]))
    for _ in range(3):
        n = rng.randint(5 * 10**4, 10**5)
        cases.append(lines(n, [rng.randint(-big, big) for _ in range(n)]))
    return cases


PROBLEM = StdinProblem(
    name="temperature_swing",
    title="Temperature Swing",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
