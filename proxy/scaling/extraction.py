"""S* stage 0: public tests from the prompt text, deterministically.

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

import ast
import re
import textwrap
from dataclasses import dataclass

from proxy.scaling.literals import (
    canonical_json,
    order_arguments,
    parse_arguments,
    parse_call_node,
    parse_literal,
)
from proxy.scaling.types import PublicTest, Signature, TaskKind

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
_ARROW = re.compile(
    r"^[ \t]*(?:==>|==|=>|=|➞|->|→|should\s+return|returns|should\s+be|gives|is)[ \t]*"
    r"(?P<rest>.+)$",
    re.IGNORECASE,
)
_FOR_SENTENCE = re.compile(
    r"\bfor\s+(?P<args>.+?)(?:,\s*the\s+.*?)?\s+the\s+(?:output|result|answer)\s+"
    r"(?:should\s+be|is|will\s+be)\s+(?P<expected>.+)$",
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
        tests.extend(_doctests(text, signature.name, params))
        tests.extend(_call_lines(text, signature.name, params))
        tests.extend(_for_sentences(text, params))
        for given, expected in _io_pairs(text):
            test = _function_block_test(given, expected, params)
            if test is not None:
                tests.append(test)
    unique: dict[tuple[str, str | None], PublicTest] = {}
    for test in tests:
        unique.setdefault((test.input, test.expected), test)
    return tuple(unique.values())[:MAX_TESTS]


# -- stdin-style blocks -------------------------------------------------------------------------


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
        content = _block_content(lines, index + 1, rest)
        blocks.append(_Block(match["which"].lower(), bool(match["sample"]), content))
    return blocks


def _block_content(lines: list[str], start: int, inline: str) -> str:
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


# -- function-style examples --------------------------------------------------------------------


def _make_test(
    args: tuple[object, ...], expected: object, params: tuple[str, ...]
) -> PublicTest | None:
    if params and len(args) != len(params):
        return None
    return PublicTest(input=canonical_json(list(args)), expected=canonical_json(expected))


def _function_block_test(given: str, expected: str, params: tuple[str, ...]) -> PublicTest | None:
    try:
        value = parse_literal(expected)
    except ValueError:
        return None
    try:
        args, kwargs = parse_arguments(given)
        test = _make_test(order_arguments(args, kwargs, params), value, params)
        if test is not None:
            return test
    except ValueError:
        pass
    lines = [line for line in given.splitlines() if line.strip()]
    if len(lines) > 1 and len(lines) == len(params):
        # LiveCodeBench's functional format: one JSON value per parameter, one per line.
        try:
            return _make_test(tuple(parse_literal(line) for line in lines), value, params)
        except ValueError:
            return None
    if len(params) == 1:
        try:
            return _make_test((parse_literal(given),), value, params)
        except ValueError:
            return None
    return None


def _doctests(text: str, name: str, params: tuple[str, ...]) -> list[PublicTest]:
    lines = text.splitlines()
    tests: list[PublicTest] = []
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        index += 1
        if not stripped.startswith(">>>"):
            continue
        source = [stripped[3:].strip()]
        while index < len(lines) and lines[index].strip().startswith("..."):
            source.append(lines[index].strip()[3:].strip())
            index += 1
        result: list[str] = []
        while index < len(lines):
            line = lines[index].strip()
            if not line or line.startswith(">>>"):
                break
            done = line.endswith(('"""', "'''"))
            line = line.removesuffix('"""').removesuffix("'''").strip()
            if line:
                result.append(line)
            index += 1
            if done:
                break
        test = _doctest(" ".join(source), "\n".join(result), name, params)
        if test is not None:
            tests.append(test)
    return tests


def _doctest(source: str, result: str, name: str, params: tuple[str, ...]) -> PublicTest | None:
    try:
        node = ast.parse(source, mode="eval").body
        # NOTE: no result line means the call returned None (doctest prints nothing for it),
        # except that HumanEval also writes ">>> f(x) == y" with no result line at all.
        expected = parse_literal(result) if result else None
    except (SyntaxError, ValueError):
        return None
    if (
        isinstance(node, ast.Compare)
        and (expected is True or not result)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Eq)
    ):
        try:
            expected = parse_literal(ast.unparse(node.comparators[0]))
        except ValueError:
            return None
        node = node.left
    return _call_test(node, expected, name, params)


def _call_test(
    node: ast.expr, expected: object, name: str, params: tuple[str, ...]
) -> PublicTest | None:
    if not isinstance(node, ast.Call):
        return None
    if not (isinstance(node.func, ast.Name) and node.func.id == name):
        return None
    try:
        args, kwargs = parse_call_node(node)
        return _make_test(order_arguments(args, kwargs, params), expected, params)
    except ValueError:
        return None


def _call_lines(text: str, name: str, params: tuple[str, ...]) -> list[PublicTest]:
    pattern = re.compile(rf"(?<![\w.]){re.escape(name)}\s*\(")
    tests: list[PublicTest] = []
    for line in text.splitlines():
        if line.strip().startswith((">>>", "def ", "...")):
            continue
        for match in pattern.finditer(line):
            end = _closing_paren(line, match.end() - 1)
            if end is None:
                continue
            arrow = _ARROW.match(line[end + 1 :])
            if arrow is None:
                continue
            try:
                node = ast.parse(line[match.start() : end + 1], mode="eval").body
                expected = parse_literal(arrow["rest"])
            except (SyntaxError, ValueError):
                continue
            test = _call_test(node, expected, name, params)
            if test is not None:
                tests.append(test)
    return tests


def _for_sentences(text: str, params: tuple[str, ...]) -> list[PublicTest]:
    tests: list[PublicTest] = []
    for line in text.splitlines():
        match = _FOR_SENTENCE.search(line)
        if match is None:
            continue
        try:
            args, kwargs = parse_arguments(match["args"].strip().rstrip(","))
            test = _make_test(
                order_arguments(args, kwargs, params), parse_literal(match["expected"]), params
            )
        except ValueError:
            continue
        if test is not None:
            tests.append(test)
    return tests


def _closing_paren(line: str, open_index: int) -> int | None:
    """Index of the parenthesis closing ``line[open_index]``, skipping string literals."""
    depth = 0
    quote: str | None = None
    index = open_index
    while index < len(line):
        char = line[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None
