"""Max Stack (medium): push/pop/max queries; rescanning the stack per max query is too slow."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("7\n1 3\n1 8\n3\n2\n3\n1 5\n3\n", "8\n3\n5\n"),
    Sample("3\n1 -4\n1 -4\n3\n", "-4\n"),
)

STATEMENT = render_statement(
    title="Max Stack",
    story="You have an empty stack of integers. Process Q queries of the following three kinds:\n"
    "- 1 x: push x onto the stack.\n"
    "- 2: remove the top element of the stack.\n"
    "- 3: print the largest element currently in the stack.\n"
    "It is guaranteed that the stack is not empty when a query of kind 2 or 3 is given.",
    constraints=[
        "1 ≤ Q ≤ 2 \u00d7 10^5",
        "-10^9 ≤ x ≤ 10^9",
        "There is at least one query of kind 3.",
        "All values in the input are integers.",
    ],
    input_format="Q\nquery_1\nquery_2\n:\nquery_Q",
    output_format="For each query of kind 3, print the answer on its own line.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.buffer.read().split()
q = int(data[0])
maxima = []
out = []
pos = 1
for _ in range(q):
    kind = data[pos]
    if kind == b"1":
        x = int(data[pos + 1])
        pos += 2
        maxima.append(x if not maxima or x > maxima[-1] else maxima[-1])
    elif kind == b"2":
        pos += 1
        maxima.pop()
    else:
        pos += 1
        out.append(maxima[-1])
print("\\n".join(map(str, out)))
"""


def _random(rng: random.Random, q: int, bound: int, push_bias: float) -> str:
    queries: list[str] = []
    depth = 0
    while len(queries) < q - 1:
        roll = rng.random()
        if depth == 0 or roll < push_bias:
            queries.append(f"1 {rng.randint(-bound, bound)}")
            depth += 1
        elif roll < (1 + push_bias) / 2:
            queries.append("2")
            depth -= 1
        else:
            queries.append("3")
    if depth == 0:
        queries[-1] = f"1 {rng.randint(-bound, bound)}"
    queries.append("3")
    return f"{len(queries)}\n" + "\n".join(queries) + "\n"


def _case(queries: list[str]) -> str:
    return f"{len(queries)}\n" + "\n".join(queries) + "\n"


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    q = 2 * 10**5
    cases = [
        _case(["1 5", "3"]),
        _case([f"1 {-big}", "3"]),
        _case(["1 1", "1 2", "2", "3"]),
        _case(["1 2", "1 2", "2", "3"]),
        _case(["1 9", "2", "1 4", "3"]),
        _case(["1 3", "1 1", "1 2", "3", "2", "3", "2", "3"]),
    ]
    for _ in range(12):
        cases.append(_random(rng, rng.randint(2, 30), 20, 0.45))
    cases.append(_random(rng, q, big, 0.4))
    half = q // 2 - 1
    cases.append(_case([f"1 {i}" for i in range(half)] + ["3"] * (q - half)))
    cases.append(_case([f"1 {big - i}" for i in range(half)] + ["3", "2"] * ((q - half) // 2)))
    return cases


PROBLEM = StdinProblem(
    name="max_stack",
    title="Max Stack",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
