"""Meeting Rooms (hard): maximum overlap of half-open intervals; touching meetings share a room."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("3\n1 5\n2 6\n5 8\n", "2\n"),
    Sample("4\n0 10\n1 2\n3 4\n2 3\n", "2\n"),
    Sample("1\n7 9\n", "1\n"),
)

STATEMENT = render_statement(
    title="Meeting Rooms",
    story="N meetings are planned. Meeting i starts at time S_i and ends at time E_i; it "
    "occupies a room during the half-open interval [S_i, E_i), so a meeting that ends at "
    "time t and a meeting that starts at time t can use the same room.\n"
    "Print the minimum number of rooms needed to hold all the meetings.",
    constraints=[
        "1 ≤ N ≤ 10^5",
        "0 ≤ S_i < E_i ≤ 10^9",
        "All values in the input are integers.",
    ],
    input_format="N\nS_1 E_1\nS_2 E_2\n:\nS_N E_N",
    output_format="Print the minimum number of rooms.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.buffer.read().split()
n = int(data[0])
events = []
for i in range(n):
    events.append((int(data[1 + 2 * i]), 1))
    events.append((int(data[2 + 2 * i]), -1))
events.sort()
best = current = 0
for _, delta in events:
    current += delta
    best = max(best, current)
print(best)
"""


def _case(meetings: list[tuple[int, int]]) -> str:
    return f"{len(meetings)}\n" + "\n".join(f"{s} {e}" for s, e in meetings) + "\n"


def _random(rng: random.Random, n: int, span: int, max_len: int) -> str:
    meetings = []
    for _ in range(n):
        start = rng.randint(0, span - 1)
        meetings.append((start, min(span, start + rng.randint(1, max_len))))
    return _case(meetings)


def generate(rng: random.Random) -> list[str]:
    n = 10**5
    cases = [
        _case([(0, 1)]),
        _case([(0, 1), (1, 2), (2, 3)]),
        _case([(0, 5), (0, 5), (0, 5)]),
        _case([(0, 10**9), (10**9 - 1, 10**9)]),
        _case([(1, 3), (2, 4), (3, 5), (4, 6)]),
        _case([(5, 6), (1, 10), (2, 3), (5, 7)]),
    ]
    for _ in range(12):
        cases.append(_random(rng, rng.randint(1, 12), 30, 8))
    cases.append(_random(rng, n, 10**9, 10**7))
    cases.append(_case([(i, i + 1) for i in range(n)]))
    cases.append(_case([(i, 2 * n - i) for i in range(n)]))
    return cases


PROBLEM = StdinProblem(
    name="meeting_rooms",
    title="Meeting Rooms",
    difficulty="hard",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
