"""Paths in a Garden (medium): grid DP modulo a prime; a blocked start or goal gives 0."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("3 3\n...\n.#.\n...\n", "2\n"),
    Sample("2 2\n.#\n#.\n", "0\n"),
    Sample("1 4\n....\n", "1\n"),
)

STATEMENT = render_statement(
    title="Paths in a Garden",
    story="A garden is a grid of H rows and W columns. The square in the i-th row and j-th column "
    "is a flower bed if the j-th character of S_i is #, and a path square if it is '.'.\n"
    "Takahashi starts at the top-left square (1, 1) and wants to reach the bottom-right square "
    "(H, W). In one move he goes one square to the right or one square down, and he never "
    "steps on a flower bed (the start and the goal count as stepped on).\n"
    "Count the number of different routes, modulo 998244353.",
    constraints=[
        "1 ≤ H, W ≤ 400",
        "Each S_i is a string of length W consisting of . and #.",
    ],
    input_format="H W\nS_1\nS_2\n:\nS_H",
    output_format="Print the number of routes modulo 998244353.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
MOD = 998244353
data = sys.stdin.read().split()
h, w = int(data[0]), int(data[1])
grid = data[2:2 + h]
row = [0] * w
for i in range(h):
    line = grid[i]
    left = 0
    for j in range(w):
        if line[j] == "#":
            row[j] = 0
        elif i == 0 and j == 0:
            row[j] = 1
        else:
            row[j] = (row[j] + left) % MOD
        left = row[j]
print(row[w - 1] % MOD)
"""


def _grid(rng: random.Random, h: int, w: int, density: float) -> str:
    rows = ["".join("#" if rng.random() < density else "." for _ in range(w)) for _ in range(h)]
    return f"{h} {w}\n" + "\n".join(rows) + "\n"


def generate(rng: random.Random) -> list[str]:
    cases = [
        "1 1\n.\n",
        "1 1\n#\n",
        "2 2\n#.\n..\n",
        "2 2\n..\n.#\n",
        "3 1\n.\n.\n.\n",
        "3 3\n...\n###\n...\n",
        "3 3\n.#.\n...\n.#.\n",
    ]
    for _ in range(10):
        cases.append(_grid(rng, rng.randint(2, 8), rng.randint(2, 8), 0.2))
    cases.append("400 400\n" + "\n".join("." * 400 for _ in range(400)) + "\n")
    cases.append(_grid(rng, 400, 400, 0.05))
    cases.append(_grid(rng, 400, 400, 0.4))
    return cases


PROBLEM = StdinProblem(
    name="garden_paths",
    title="Paths in a Garden",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
