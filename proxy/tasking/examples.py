"""Public tests from the prompt text, deterministically (S* stage 0).

Chat requests carry no structured tests, so the examples a problem statement shows are the only
ground truth the engine has. Recognised shapes: ``Input:``/``Output:`` blocks (inline, indented or
fenced), ``Sample Input N``/``Sample Output N`` (AtCoder/Codeforces), ``Example N`` sections,
LeetCode ``Input: nums = [1,2], k = 3`` / ``Output: 4``, doctests (``>>> f(1, 2)`` then the result
lines, HumanEval style), call lines (``f(1) == 2``, ``f(1) => 2``, ``f(1) ➞ 2``,
``assert f(1) == 2``, ``f(1) returns 2``) and ``For x = 1 the output should be 2`` sentences.

Inputs: the prompt text, the task kind and (function tasks) the signature, whose parameter order
turns named LeetCode arguments into the positional JSON array the sandbox calls with.
Outputs: ``PublicTest`` values, deduplicated, in prompt order. Anything that is not a literal is
skipped, never guessed: a wrong "public" test would reject correct programs.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from proxy.scaling.types import PublicTest, Signature, TaskKind
from proxy.tasking.function_examples import (
    call_line_tests,
    doctest_tests,
    function_block_test,
    sentence_tests,
)

MAX_TESTS = 32

_HEADER = re.compile(
    r"^[ \t]*(?:[#>*_\-]+[ \t]*)?(?P<sample>(?:sample|example)[ \t]*)?(?P<which>input|output)"
    r"(?:[ \t]*(?:example[ \t]*)?#?\d+)?[ \t]*[*_]*[ \t]*(?P<colon>[:\uff1a])?[ \t]*[*_]*[ \t]*"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_TERMINATOR = re.compile(
    r"^[ \t]*(?:[#>*_\-]+[ \t]*)?(?:explanation|note|notes|constraints?|example|examples|sample"
    r"|hint|follow[- ]up)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Block:
    """One ``Input``/``Output`` header and the text under it."""

    which: str
    sample: bool
    content: str


def extract_public_tests(
    text: str, *, kind: TaskKind, signature: Signature | None
) -> tuple[PublicTest, ...]:
    """Every example the prompt shows, as public tests; ``()`` when it shows none."""
    tests: list[PublicTest] = []
    if kind == "stdin":
        for given, expected in _io_pairs(text):
            tests.append(PublicTest(input=_stdin_text(given), expected=_stdout_text(expected)))
    elif signature is not None:
        params = tuple(p for p in signature.params if p != "self")
        tests.extend(doctest_tests(text, name=signature.name, params=params))
        tests.extend(call_line_tests(text, name=signature.name, params=params))
        tests.extend(sentence_tests(text, params))
        for given, expected in _io_pairs(text):
            test = function_block_test(given, expected, params=params)
            if test is not None:
                tests.append(test)
    unique: dict[tuple[str, str | None], PublicTest] = {}
    for test in tests:
        unique.setdefault((test.input, test.expected), test)
    return tuple(unique.values())[:MAX_TESTS]


def _io_pairs(text: str) -> list[tuple[str, str]]:
    blocks = _blocks(text.splitlines())
    if any(b.sample for b in blocks):
        # NOTE: a statement with "Sample Input 1" also has an "Input" section describing the
        # format; only the samples are examples.
        blocks = [b for b in blocks if b.sample]
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for block in blocks:
        if block.which == "input":
            pending = block.content
        elif pending is not None:
            pairs.append((pending, block.content))
            pending = None
    return [(i, o) for i, o in pairs if i.strip() and o.strip() and not _looks_like_prose(i)]


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match is None:
            continue
        rest = match["rest"].strip()
        if rest and not match["colon"]:
            continue  # "Input is given from Standard Input..." is prose, not a header
        content = _block_content(lines, start=index + 1, inline=rest)
        blocks.append(_Block(match["which"].lower(), bool(match["sample"]), content))
    return blocks


def _block_content(lines: list[str], *, start: int, inline: str) -> str:
    index = start
    if not inline:
        while index < len(lines) and not lines[index].strip():
            index += 1
        if index < len(lines) and lines[index].strip().startswith("```"):
            fenced: list[str] = []
            for line in lines[index + 1 :]:
                if line.strip().startswith("```"):
                    break
                fenced.append(line)
            return textwrap.dedent("\n".join(fenced))
    body: list[str] = []
    for line in lines[index:]:
        stripped = line.strip()
        if not stripped or stripped.startswith(('"""', "'''", "```")):
            break
        header = _HEADER.match(line)
        if header is not None and (header["colon"] or not header["rest"].strip()):
            break
        if _TERMINATOR.match(line):
            break
        body.append(line)
    following = textwrap.dedent("\n".join(body))
    return "\n".join(part for part in (inline, following) if part)


def _looks_like_prose(text: str) -> bool:
    first = text.strip().splitlines()[0]
    words = re.findall(r"[A-Za-z]{2,}", first)
    return len(words) >= 5 and first.rstrip().endswith((".", ":"))


def _stdin_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def _stdout_text(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
