"""The stdin problem set: registry, statements, references and seeded hidden-test generators."""

from __future__ import annotations

import random
import re

import pytest

from bench.data.stdin_problems import all_problems, get_problem, hidden_tests, run_reference
from bench.data.stdin_problems.base import StdinProblem

PROBLEMS = all_problems()
IDS = [p.name for p in PROBLEMS]
_HEADER = re.compile(r"^(Sample (?:Input|Output) \d+)$", re.MULTILINE)


def _parse_samples(statement: str) -> list[tuple[str, str]]:
    """Read the samples back the way a reader of AtCoder statements would."""
    pieces = _HEADER.split(statement)
    blocks = {pieces[i]: pieces[i + 1].strip("\n") + "\n" for i in range(1, len(pieces), 2)}
    count = sum(1 for key in blocks if key.startswith("Sample Input"))
    numbers = range(1, count + 1)
    return [(blocks[f"Sample Input {n}"], blocks[f"Sample Output {n}"]) for n in numbers]


def test_registry_has_enough_uniquely_named_problems():
    assert len(PROBLEMS) >= 20
    assert len(set(IDS)) == len(IDS)
    assert {p.difficulty for p in PROBLEMS} == {"easy", "medium", "hard"}
    assert get_problem("maze_escape").title == "Maze Escape"
    with pytest.raises(KeyError, match="unknown stdin problem"):
        get_problem("no_such_problem")


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_statement_has_atcoder_sections_and_its_samples(problem: StdinProblem):
    for section in ("\nConstraints\n", "\nInput\n", "\nOutput\n", "\nSample Input 1\n"):
        assert section in problem.statement
    assert 1 <= len(problem.samples) <= 3
    parsed = _parse_samples(problem.statement)
    assert parsed == [(s.input, s.output) for s in problem.samples]


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_reference_reproduces_the_statement_samples(problem: StdinProblem):
    for sample in problem.samples:
        assert run_reference(problem.reference, sample.input) == sample.output


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_generator_is_deterministic_and_gives_at_least_20_tests(problem: StdinProblem):
    first = problem.generate(random.Random(f"{problem.name}:0"))
    again = problem.generate(random.Random(f"{problem.name}:0"))
    other = problem.generate(random.Random(f"{problem.name}:1"))
    assert first == again
    assert first != other
    assert len(first) >= 20
    assert len(set(first)) == len(first), "duplicate hidden tests"
    assert all(text.endswith("\n") for text in first)
    assert max(len(text) for text in first) <= 2_100_000


def test_hidden_tests_pair_inputs_with_reference_outputs():
    problem = get_problem("clock_arithmetic")
    tests = hidden_tests(problem, seed=3)
    assert tests == hidden_tests(problem, seed=3)
    assert len(tests) >= 20
    assert tests[0].input == "00:00\n0\n"
    assert tests[0].expected == "00:00\n"
