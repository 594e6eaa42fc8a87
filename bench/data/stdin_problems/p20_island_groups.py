"""Island Groups (medium): connected components with self-loops and repeated bridges."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("5 3\n1 2\n2 3\n4 4\n", "3\n"),
    Sample("3 0\n", "3\n"),
)

STATEMENT = render_statement(
    title="Island Groups",
    story="An archipelago has N islands numbered 1 to N and M bridges; the i-th bridge connects "
    "islands U_i and V_i in both directions (a bridge may connect an island to itself, and two "
    "islands may be connected by several bridges).\nTwo islands are in the same group if one "
    "can be reached from the other using bridges. Print the number of groups.",
    constraints=[
        "1 ≤ N ≤ 10^5",
        "0 ≤ M ≤ 10^5",
        "1 ≤ U_i, V_i ≤ N",
        "All values in the input are integers.",
    ],
    input_format="N M\nU_1 V_1\n:\nU_M V_M",
    output_format="Print the number of groups.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
data = sys.stdin.buffer.read().split()
n, m = int(data[0]), int(data[1])
parent = list(range(n + 1))
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
groups = n
for i in range(m):
    a, b = find(int(data[2 + 2 * i])), find(int(data[3 + 2 * i]))
    if a != b:
        parent[a] = b
        groups -= 1
print(groups)
"""


def _case(n: int, edges: list[tuple[int, int]]) -> str:
    rows = [f"{n} {len(edges)}"] + [f"{u} {v}" for u, v in edges]
    return "\n".join(rows) + "\n"


def _random(rng: random.Random, n: int, m: int) -> str:
    return _case(n, [(rng.randint(1, n), rng.randint(1, n)) for _ in range(m)])


def generate(rng: random.Random) -> list[str]:
    n = 10**5
    cases = [
        _case(1, []),
        _case(1, [(1, 1)]),
        _case(2, [(1, 2), (2, 1), (1, 2)]),
        _case(4, [(1, 2), (3, 4)]),
        _case(6, [(1, 6), (6, 1), (2, 2)]),
        _case(5, [(1, 2), (2, 3), (3, 4), (4, 5)]),
    ]
    for _ in range(12):
        size = rng.randint(1, 15)
        cases.append(_random(rng, size, rng.randint(0, 12)))
    cases.append(_random(rng, n, n // 2))
    cases.append(_case(n, [(i, i + 1) for i in range(1, n)]))
    cases.append(_case(n, []))
    return cases


PROBLEM = StdinProblem(
    name="island_groups",
    title="Island Groups",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
