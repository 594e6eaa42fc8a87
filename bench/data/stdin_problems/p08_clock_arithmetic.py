"""Clock Arithmetic (easy): add K minutes to HH:MM; wrap-around and zero padding are the traps."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("09:15\n50\n", "10:05\n"),
    Sample("23:59\n1\n", "00:00\n"),
    Sample("00:00\n1500\n", "01:00\n"),
)

STATEMENT = render_statement(
    title="Clock Arithmetic",
    story="A 24-hour digital clock shows the time HH:MM. Print the time the clock shows "
    "exactly K minutes later.\nThe answer must also be in the HH:MM format, with both the "
    "hours and the minutes written with exactly two digits.",
    constraints=[
        "HH:MM is a valid time between 00:00 and 23:59.",
        "0 ≤ K ≤ 10^9",
        "K is an integer.",
    ],
    input_format="HH:MM\nK",
    output_format="Print the time K minutes later in the format HH:MM.",
    samples=SAMPLES,
)

REFERENCE = """\
hh, mm = input().strip().split(":")
k = int(input())
total = (int(hh) * 60 + int(mm) + k) % (24 * 60)
print(f"{total // 60:02d}:{total % 60:02d}")
"""


def _case(h: int, m: int, k: int) -> str:
    return f"{h:02d}:{m:02d}\n{k}\n"


def generate(rng: random.Random) -> list[str]:
    cases = [
        _case(0, 0, 0),
        _case(23, 59, 0),
        _case(12, 0, 1440),
        _case(12, 30, 1440 * 7 + 1),
        _case(5, 5, 55),
        _case(0, 0, 10**9),
        _case(23, 59, 10**9),
        _case(9, 59, 1),
    ]
    for _ in range(10):
        cases.append(_case(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 3000)))
    for _ in range(4):
        cases.append(_case(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 10**9)))
    return cases


PROBLEM = StdinProblem(
    name="clock_arithmetic",
    title="Clock Arithmetic",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
