"""Range Sum Queries (medium): prefix sums with 1-indexed inclusive queries; O(NQ) times out."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("5 3\n1 2 3 4 5\n1 5\n2 3\n4 4\n", "15\n5\n4\n"),
    Sample("3 2\n-1 -2 -3\n1 2\n3 3\n", "-3\n-3\n"),
)

STATEMENT = render_statement(
    title="Range Sum Queries",
    story="You are given a sequence A_1, ..., A_N and Q queries.\n"
    "The i-th query gives two integers L_i and R_i; answer it with A_{L_i} + A_{L_i+1} + ... "
    "+ A_{R_i}.",
    constraints=[
        "1 ≤ N, Q ≤ 5 \u00d7 10^4",
        "-10^9 ≤ A_i ≤ 10^9",
        "1 ≤ L_i ≤ R_i ≤ N",
        "All values in the input are integers.",
    ],
    input_format="N Q\nA_1 A_2 ... A_N\nL_1 R_1\nL_2 R_2\n:\nL_Q R_Q",
    output_format="Print Q lines; the i-th line is the answer to the i-th query.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.buffer.read().split()
n, q = int(data[0]), int(data[1])
prefix = [0] * (n + 1)
for i in range(n):
    prefix[i + 1] = prefix[i] + int(data[2 + i])
out = []
pos = 2 + n
for _ in range(q):
    left, right = int(data[pos]), int(data[pos + 1])
    pos += 2
    out.append(prefix[right] - prefix[left - 1])
print("\\n".join(map(str, out)))
"""


def _case(values: list[int], queries: list[tuple[int, int]]) -> str:
    rows = [f"{len(values)} {len(queries)}", " ".join(map(str, values))]
    rows += [f"{left} {right}" for left, right in queries]
    return "\n".join(rows) + "\n"


def _random(rng: random.Random, n: int, q: int, bound: int) -> str:
    values = [rng.randint(-bound, bound) for _ in range(n)]
    queries = []
    for _ in range(q):
        left = rng.randint(1, n)
        queries.append((left, rng.randint(left, n)))
    return _case(values, queries)


def generate(rng: random.Random) -> list[str]:
    big = 10**9
    cases = [
        _case([5], [(1, 1)]),
        _case([big, big, big], [(1, 3), (2, 3), (1, 1)]),
        _case([-big] * 4, [(1, 4)]),
        _case([3, -3, 3, -3], [(1, 2), (1, 4), (2, 3), (4, 4)]),
    ]
    for _ in range(14):
        cases.append(_random(rng, rng.randint(1, 20), rng.randint(1, 20), 100))
    cases.append(_random(rng, 5 * 10**4, 5 * 10**4, big))
    full = [(1, 5 * 10**4)] * (5 * 10**4)
    cases.append(_case([big] * (5 * 10**4), full))
    return cases


PROBLEM = StdinProblem(
    name="range_sums",
    title="Range Sum Queries",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
