"""Maze Escape (medium): BFS shortest path on a grid, -1 when walled off; S and G anywhere."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("3 4\nS..#\n.#..\n...G\n", "5\n"),
    Sample("2 3\nS#G\n.#.\n", "-1\n"),
)

STATEMENT = render_statement(
    title="Maze Escape",
    story="You are given a maze of H rows and W columns. Each square is a wall (#), a floor (.), "
    "the start (S) or the goal (G); there is exactly one S and exactly one G.\n"
    "In one move you go from a square to a horizontally or vertically adjacent square that is "
    "not a wall, without leaving the maze. Print the minimum number of moves needed to go "
    "from S to G, or -1 if G cannot be reached.",
    constraints=[
        "1 ≤ H, W ≤ 400",
        "H \u00d7 W ≥ 2",
        "Each row is a string of length W of the characters # . S G.",
        "S and G each appear exactly once.",
    ],
    input_format="H W\nC_1\nC_2\n:\nC_H",
    output_format="Print the minimum number of moves, or -1 if the goal is unreachable.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
from collections import deque
data = sys.stdin.read().split()
h, w = int(data[0]), int(data[1])
grid = "".join(data[2:2 + h])
start, goal = grid.index("S"), grid.index("G")
dist = [-1] * (h * w)
dist[start] = 0
queue = deque([start])
while queue:
    cell = queue.popleft()
    if cell == goal:
        break
    r, c = divmod(cell, w)
    moves = ((cell - w, r > 0), (cell + w, r < h - 1), (cell - 1, c > 0), (cell + 1, c < w - 1))
    for nxt, ok in moves:
        if ok and dist[nxt] < 0 and grid[nxt] != "#":
            dist[nxt] = dist[cell] + 1
            queue.append(nxt)
print(dist[goal])
"""


def _maze(rng: random.Random, h: int, w: int, density: float) -> str:
    cells = ["#" if rng.random() < density else "." for _ in range(h * w)]
    start, goal = rng.sample(range(h * w), 2)
    cells[start], cells[goal] = "S", "G"
    rows = ["".join(cells[r * w : (r + 1) * w]) for r in range(h)]
    return f"{h} {w}\n" + "\n".join(rows) + "\n"


def _snake(h: int, w: int) -> str:
    rows = []
    for r in range(h):
        if r % 2 == 0:
            rows.append("." * w)
        elif r % 4 == 1:
            rows.append("#" * (w - 1) + ".")
        else:
            rows.append("." + "#" * (w - 1))
    rows[0] = "S" + rows[0][1:]
    rows[-1] = rows[-1][:-1] + "G"
    return f"{h} {w}\n" + "\n".join(rows) + "\n"


def generate(rng: random.Random) -> list[str]:
    cases = ["1 2\nSG\n", "2 1\nG\nS\n", "1 3\nS#G\n", "3 3\nS#.\n##.\n..G\n", "2 2\nS.\n.G\n"]
    for _ in range(12):
        cases.append(_maze(rng, rng.randint(1, 8), rng.randint(2, 8), 0.3))
    cases.append(_snake(399, 400))
    cases.append(_maze(rng, 400, 400, 0.25))
    cases.append(_maze(rng, 400, 400, 0.0))
    return cases


PROBLEM = StdinProblem(
    name="maze_escape",
    title="Maze Escape",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
