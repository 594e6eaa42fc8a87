"""Bracket Check (medium): three bracket kinds need a stack; counting alone fails '([)]'."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("4\n([]{})\n([)]\n((\n{}\n", "Yes\nNo\nNo\nYes\n"),
    Sample("1\n)(\n", "No\n"),
)

STATEMENT = render_statement(
    title="Bracket Check",
    story="A string of the characters ( ) [ ] { } is balanced if every opening bracket is closed "
    "by a bracket of the same kind, and brackets close in the reverse order of opening.\n"
    "You are given T strings. For each of them, decide whether it is balanced.",
    constraints=[
        "1 ≤ T ≤ 1000",
        "1 ≤ |S_i| ≤ 10^4",
        "The total length of all strings is at most 2 \u00d7 10^5.",
        "Each S_i consists of the characters ( ) [ ] { }.",
    ],
    input_format="T\nS_1\nS_2\n:\nS_T",
    output_format="Print T lines: Yes if S_i is balanced, No otherwise.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
PAIRS = {")": "(", "]": "[", "}": "{"}
def balanced(s):
    stack = []
    for c in s:
        if c in PAIRS:
            if not stack or stack.pop() != PAIRS[c]:
                return False
        else:
            stack.append(c)
    return not stack
data = sys.stdin.read().split()
t = int(data[0])
print("\\n".join("Yes" if balanced(s) else "No" for s in data[1:1 + t]))
"""


def _balanced(rng: random.Random, pairs: int) -> str:
    out: list[str] = []
    stack: list[str] = []
    opened = 0
    while opened < pairs or stack:
        if opened < pairs and (not stack or rng.random() < 0.5):
            kind = rng.randrange(3)
            out.append("([{"[kind])
            stack.append(")]}"[kind])
            opened += 1
        else:
            out.append(stack.pop())
    return "".join(out)


def _mutate(rng: random.Random, s: str) -> str:
    i = rng.randrange(len(s))
    return s[:i] + rng.choice("()[]{}".replace(s[i], "")) + s[i + 1 :]


def _case(strings: list[str]) -> str:
    return f"{len(strings)}\n" + "\n".join(strings) + "\n"


def generate(rng: random.Random) -> list[str]:
    cases = [
        _case(["("]),
        _case([")"]),
        _case(["()", "[]", "{}"]),
        _case(["([)]", "(]", "{[()]}", "]["]),
        _case(["(((", ")))", "()()()", "(()"]),
    ]
    for _ in range(13):
        strings = []
        for _ in range(rng.randint(1, 10)):
            s = _balanced(rng, rng.randint(1, 15))
            strings.append(_mutate(rng, s) if rng.random() < 0.5 else s)
        cases.append(_case(strings))
    deep = "(" * 5000 + "[" * 2500 + "]" * 2500 + ")" * 5000
    cases.append(_case([deep, deep[:-1] + "]", _balanced(rng, 5000)]))
    strings = [_balanced(rng, 100) for _ in range(1000)]
    cases.append(_case([_mutate(rng, s) if i % 3 == 0 else s for i, s in enumerate(strings)]))
    return cases


PROBLEM = StdinProblem(
    name="bracket_check",
    title="Bracket Check",
    difficulty="medium",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
