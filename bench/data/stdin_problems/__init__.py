"""Original stdin/stdout problems in the AtCoder/Codeforces style, with seeded hidden tests.

HumanEval has only function tasks; these exercise the proxy's stdin path. Each problem lives in its
own module (statement, reference, generator); :func:`all_problems` is the registry. Nothing here is
generated at import time: hidden tests come from :func:`hidden_tests` when a caller asks.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from bench.data.stdin_problems.base import (
    Sample,
    StdinProblem,
    TestCase,
    hidden_tests,
    run_reference,
)


def all_problems() -> tuple[StdinProblem, ...]:
    """Every problem module ``pNN_*`` of this package, in number order (easy ones are spread
    through the list). A new problem is a new module; nothing else to register."""
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(__path__)
        if re.fullmatch(r"p\d\d_\w+", info.name)
    )
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    problems: tuple[StdinProblem, ...] = tuple(module.PROBLEM for module in modules)
    return problems


def get_problem(name: str) -> StdinProblem:
    """The problem called ``name``; ``KeyError`` lists the known names."""
    for problem in all_problems():
        if problem.name == name:
            return problem
    known = ", ".join(p.name for p in all_problems())
    raise KeyError(f"unknown stdin problem {name!r}; known: {known}")


__all__ = [
    "Sample",
    "StdinProblem",
    "TestCase",
    "all_problems",
    "get_problem",
    "hidden_tests",
    "run_reference",
]
