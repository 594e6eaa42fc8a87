"""Original stdin/stdout problems in the AtCoder/Codeforces style, with seeded hidden tests.

HumanEval has only function tasks; these exercise the proxy's stdin path. Each problem lives in its
own module (statement, reference, generator); :func:`all_problems` is the registry. Nothing here is
generated at import time: hidden tests come from :func:`hidden_tests` when a caller asks.
"""

from __future__ import annotations

from bench.stdin_problems import (
    p01_sum_of_evens,
    p02_temperature_swing,
    p03_vowel_count,
    p04_reverse_words,
    p05_runner_up,
    p06_palindromes,
    p07_running_total,
    p08_clock_arithmetic,
    p09_most_frequent_word,
    p10_longest_streak,
    p11_target_pairs,
    p12_range_sums,
    p13_bracket_check,
    p14_best_stretch,
    p15_garden_paths,
    p16_maze_escape,
    p17_painted_fence,
    p18_making_change,
    p19_rising_sequence,
    p20_island_groups,
    p21_window_variety,
    p22_max_stack,
    p23_gcd_sweep,
    p24_meeting_rooms,
)
from bench.stdin_problems.base import (
    Sample,
    StdinProblem,
    TestCase,
    hidden_tests,
    run_reference,
)

_MODULES = (
    p01_sum_of_evens,
    p02_temperature_swing,
    p03_vowel_count,
    p04_reverse_words,
    p05_runner_up,
    p06_palindromes,
    p07_running_total,
    p08_clock_arithmetic,
    p09_most_frequent_word,
    p10_longest_streak,
    p11_target_pairs,
    p12_range_sums,
    p13_bracket_check,
    p14_best_stretch,
    p15_garden_paths,
    p16_maze_escape,
    p17_painted_fence,
    p18_making_change,
    p19_rising_sequence,
    p20_island_groups,
    p21_window_variety,
    p22_max_stack,
    p23_gcd_sweep,
    p24_meeting_rooms,
)


def all_problems() -> tuple[StdinProblem, ...]:
    """Every problem, in a fixed order (easy ones are spread through the list by number)."""
    return tuple(module.PROBLEM for module in _MODULES)


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
