"""Most Frequent Word (easy): counting with a lexicographic tie-break, the usual slip."""

from __future__ import annotations

import random

from bench.data.stdin_problems.base import Sample, StdinProblem, render_statement

SAMPLES = (
    Sample("6\napple banana apple cherry banana apple\n", "apple 3\n"),
    Sample("4\npear fig fig pear\n", "fig 2\n"),
)

STATEMENT = render_statement(
    title="Most Frequent Word",
    story="You are given N words W_1, ..., W_N. Find the word that occurs most often and print "
    "it together with its number of occurrences.\nIf several words are tied for the most "
    "occurrences, print the lexicographically smallest of them.",
    constraints=["1 ≤ N ≤ 10^5", "Each W_i consists of 1 to 10 lowercase English letters."],
    input_format="N\nW_1 W_2 ... W_N",
    output_format="Print the word and its number of occurrences, separated by a space.",
    samples=SAMPLES,
)

REFERENCE = """\
import sys
from collections import Counter
data = sys.stdin.read().split()
n = int(data[0])
counts = Counter(data[1:1 + n])
best = max(counts.values())
print(min(w for w, c in counts.items() if c == best), best)
"""


def _words(rng: random.Random, n: int, vocabulary: list[str]) -> str:
    return f"{n}\n" + " ".join(rng.choice(vocabulary) for _ in range(n)) + "\n"


def generate(rng: random.Random) -> list[str]:
    small = ["a", "b", "ab", "ba", "abc", "b", "zz", "z"]
    cases = [
        "1\nz\n",
        "2\nb a\n",
        "3\nzz z zz\n",
        "4\nbb aa aa bb\n",
        "5\na ab abc ab a\n",
    ]
    for _ in range(13):
        cases.append(_words(rng, rng.randint(1, 30), small))
    vocabulary = [
        "".join(rng.choice("abcde") for _ in range(rng.randint(1, 4))) for _ in range(300)
    ]
    cases.append(_words(rng, 10**5, vocabulary))
    cases.append("100000\n" + " ".join(f"w{chr(97 + i % 26)}" for i in range(10**5)) + "\n")
    return cases


PROBLEM = StdinProblem(
    name="most_frequent_word",
    title="Most Frequent Word",
    difficulty="easy",
    statement=STATEMENT,
    samples=SAMPLES,
    reference=REFERENCE,
    generate=generate,
)
