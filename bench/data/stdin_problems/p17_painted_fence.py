"""Painted Fence (medium): length of a union of half-open intervals; overlaps and touching ends."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("3\n1 4\n2 6\n8 10\n", "7\n"),
    Sample("2\n0 5\n5 7\n", "7\n"),
)

STATEMENT = render_statement(
    title="Painted Fence",
    story="A long fence is painted by N painters. Painter i paints the part of the fence from "
    "coordinate L_i to coordinate R_i (a segment of length R_i - L_i). Parts may be painted "
    "several times.\nPrint the total length of the fence that is painted at least once.",
    constraints=[
        "1 ≤ N ≤ 10^5",
        "0 ≤ L_i < R_i ≤ 10^9",
        "All values in the input are integers.",
    ],
    input_format="N\nL_1 R_1\nL_2 R_2\n:\nL_N R_N",
    output_format="Print the total painted length.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.buffer.read().split()
n = int(data[0])
segments = sorted((int(data[1 + 2 * i]), int(data[2 + 2 * i])) for i in range(n))
total = 0
cur_l, cur_r = segments[0]
for left, right in segments[1:]:
    if left > cur_r:
        total += cur_r - cur_l
        cur_l, cur_r = left, right
    elif right > cur_r:
        cur_r = right
total += cur_r - cur_l
print(total)
"""


def _case(segments: list[tuple[int, int]]) -> str:
    return f"{len(segments)}\n" + "\n".join(f"{a} {b}" for a, b in segments) + "\n"


def _random(rng: random.Random, n: int, span: int, max_len: int) -> str:
    segments = []
    for _ in range(n):
        left = rng.randint(0, span - 1)
        segments.append((left, min(span, left + rng.randint(1, max_len))))
    return _case(segments)


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    cases = [
        _case([(0, 1)]),
        _case([(0, big)]),
        _case([(0, big), (5, 6), (big - 1, big)]),
        _case([(3, 5), (3, 5), (3, 5)]),
        _case([(1, 2), (2, 3), (3, 4)]),
        _case([(10, 20), (0, 5), (4, 11)]),
        _case([(0, 2), (3, 4)]),
    ]
    for _ in range(11):
        cases.append(_random(rng, rng.randint(1, 12), 40, 10))
    cases.append(_random(rng, 10**5, big, 10**5))
    cases.append(_random(rng, 10**5, big, 10**9))
    cases.append(_case([(i, i + 1) for i in range(0, 2 * 10**5, 2)]))
    return cases


PROBLEM = StdinProblem(
    name="painted_fence",
    title="Painted Fence",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
