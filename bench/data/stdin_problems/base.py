"""The shape of one stdin/stdout benchmark problem and the helpers every problem module shares.

Why the statement is *rendered* from parts: the samples shown to the model and the samples the
tests check against the reference are then the same data by construction, and every statement has
the AtCoder layout (Constraints, Input, Output, ``Sample Input N``/``Sample Output N``) that the
proxy's public-test parser reads. Hidden tests are never stored: each problem has a seeded
generator, and expected outputs come from the trusted reference solution at run time.
"""

from __future__ import annotations

import contextlib
import io
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Difficulty = Literal["easy", "medium", "hard"]
Generator = Callable[[random.Random], list[str]]


@dataclass(frozen=True, slots=True)
class Sample:
    """One example shown in the statement (input and expected output, newline-terminated)."""

    input: str
    output: str


@dataclass(frozen=True, slots=True)
class TestCase:
    """One hidden test: an input and the reference's output for it."""

    __test__ = False  # not a pytest class, despite the name

    input: str
    expected: str


@dataclass(frozen=True, slots=True)
class StdinProblem:
    """An original competitive-programming problem with a reference and a hidden-test generator.

    ``generate`` must be a pure function of the ``random.Random`` it is given (determinism is
    tested) and return at least 20 inputs: hand-picked edge cases first, then random ones, then a
    few large ones sized so that ``reference`` runs well under a second on each.
    """

    name: str
    title: str
    difficulty: Difficulty
    statement: str
    samples: tuple[Sample, ...]
    reference: str
    generate: Generator


def render_statement(
    *,
    title: str,
    story: str,
    constraints: Sequence[str],
    input_format: str,
    output_format: str,
    samples: Sequence[Sample],
) -> str:
    """Lay a problem out the way AtCoder does, samples last."""
    parts = [
        title,
        story.strip(),
        "Constraints",
        "\n".join(f"- {line}" for line in constraints),
        "Input",
        "The input is given from Standard Input in the following format:\n\n"
        + input_format.strip(),
        "Output",
        output_format.strip(),
    ]
    for number, sample in enumerate(samples, start=1):
        parts += [
            f"Sample Input {number}",
            sample.input.rstrip("\n"),
            f"Sample Output {number}",
            sample.output.rstrip("\n"),
        ]
    return "\n\n".join(parts) + "\n"


def run_reference(reference: str, stdin: str) -> str:
    """Run the trusted reference in-process on ``stdin`` and return what it printed.

    Only our own reference code runs here; candidate programs always run in the sandbox.
    """
    out = io.StringIO()
    saved_stdin = sys.stdin
    # NOTE: a real text stream over bytes, so references may read sys.stdin.buffer too.
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(reference, "<reference>", "exec"), {"__name__": "__main__"})  # noqa: S102
    finally:
        sys.stdin = saved_stdin
    return out.getvalue()


def hidden_tests(problem: StdinProblem, *, seed: int = 0) -> tuple[TestCase, ...]:
    """The problem's hidden tests for ``seed``: generated inputs with the reference's outputs."""
    rng = random.Random(f"{problem.name}:{seed}")
    inputs = problem.generate(rng)
    return tuple(TestCase(input=i, expected=run_reference(problem.reference, i)) for i in inputs)


def lines(*rows: object) -> str:
    """Join rows into an input text: a row that is a list/tuple becomes space-separated values."""
    rendered = []
    for row in rows:
        if isinstance(row, list | tuple):
            rendered.append(" ".join(str(value) for value in row))
        else:
            rendered.append(str(row))
    return "\n".join(rendered) + "\n"
