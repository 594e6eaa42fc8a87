"""Making Change (medium): count coin combinations (not orderings) modulo 10^9+7."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, lines, render_statement

SAMPLES = (
    Sample("3 5\n1 2 5\n", "4\n"),
    Sample("1 3\n2\n", "0\n"),
    Sample("2 0\n3 7\n", "1\n"),
)

STATEMENT = render_statement(
    title="Making Change",
    story="There are N kinds of coins; a coin of the i-th kind is worth C_i yen, and you have "
    "as many coins of each kind as you want.\nCount the number of ways to pay exactly X yen. "
    "Two ways are the same if they use the same number of coins of every kind (the order of "
    "the coins does not matter). Paying 0 yen can be done in exactly one way. Print the count "
    "modulo 10^9 + 7.",
    constraints=[
        "1 ≤ N ≤ 50",
        "1 ≤ C_i ≤ 10^4",
        "The C_i are pairwise distinct.",
        "0 ≤ X ≤ 10^4",
        "All values in the input are integers.",
    ],
    input_format="N X\nC_1 C_2 ... C_N",
    output_format="Print the number of ways modulo 10^9 + 7.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
MOD = 10**9 + 7
data = sys.stdin.read().split()
n, x = int(data[0]), int(data[1])
ways = [0] * (x + 1)
ways[0] = 1
for c in map(int, data[2:2 + n]):
    for v in range(c, x + 1):
        ways[v] = (ways[v] + ways[v - c]) % MOD
print(ways[x])
"""


def generate(rng: random.Random) -> list[str]:
    cases = [
        lines("1 0", [1]),
        lines("1 1", [1]),
        lines("1 10000", [1]),
        lines("1 9999", [2]),
        lines("2 3", [2, 4]),
        lines("3 10", [10, 5, 2]),
        lines("1 5", [10000]),
        lines("4 100", [1, 5, 10, 25]),
    ]
    for _ in range(10):
        n = rng.randint(1, 6)
        cases.append(lines(f"{n} {rng.randint(0, 60)}", rng.sample(range(1, 25), n)))
    cases.append(lines("50 10000", list(range(1, 51))))
    cases.append(lines("40 10000", rng.sample(range(1, 300), 40)))
    cases.append(lines("50 10000", rng.sample(range(1, 10001), 50)))
    return cases


PROBLEM = StdinProblem(
    name="making_change",
    title="Making Change",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
