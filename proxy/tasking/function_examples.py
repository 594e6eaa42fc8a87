"""Function-task examples: doctests, call lines, "For x = 1 the output should be 2" sentences.

Part of stage 0 (``examples.py`` owns the entry point and the ``Input``/``Output`` blocks).
Every example becomes a call of the entry point with literal arguments, mapped onto the
signature's positional order, and a literal expected value, both as canonical JSON. Anything
that is not a literal is skipped, never guessed.
"""

from __future__ import annotations

import ast
import re

from proxy.scaling.literals import (
    canonical_json,
    order_arguments,
    parse_arguments,
    parse_call_node,
    parse_literal,
)
from proxy.scaling.types import PublicTest

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


def make_test(
    args: tuple[object, ...], expected: object, *, params: tuple[str, ...]
) -> PublicTest | None:
    """A test calling with ``args``; ``None`` if the arity does not fit the signature."""
    if params and len(args) != len(params):
        return None
    return PublicTest(input=canonical_json(list(args)), expected=canonical_json(expected))


def function_block_test(given: str, expected: str, *, params: tuple[str, ...]) -> PublicTest | None:
    """An ``Input:``/``Output:`` pair as a call: named, positional or one value per line."""
    try:
        value = parse_literal(expected)
    except ValueError:
        return None
    try:
        args, kwargs = parse_arguments(given)
        test = make_test(order_arguments(args, kwargs, params=params), value, params=params)
        if test is not None:
            return test
    except ValueError:
        pass
    lines = [line for line in given.splitlines() if line.strip()]
    if len(lines) > 1 and len(lines) == len(params):
        # LiveCodeBench's functional format: one JSON value per parameter, one per line.
        try:
            return make_test(tuple(parse_literal(line) for line in lines), value, params=params)
        except ValueError:
            return None
    if len(params) == 1:
        try:
            return make_test((parse_literal(given),), value, params=params)
        except ValueError:
            return None
    return None


def doctest_tests(text: str, *, name: str, params: tuple[str, ...]) -> list[PublicTest]:
    """``>>> name(...)`` lines and the result lines that follow them."""
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
        test = _doctest(" ".join(source), "\n".join(result), name=name, params=params)
        if test is not None:
            tests.append(test)
    return tests


def _doctest(source: str, result: str, *, name: str, params: tuple[str, ...]) -> PublicTest | None:
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
    return _call_test(node, expected, name=name, params=params)


def _call_test(
    node: ast.expr, expected: object, *, name: str, params: tuple[str, ...]
) -> PublicTest | None:
    if not isinstance(node, ast.Call):
        return None
    if not (isinstance(node.func, ast.Name) and node.func.id == name):
        return None
    try:
        args, kwargs = parse_call_node(node)
        return make_test(order_arguments(args, kwargs, params=params), expected, params=params)
    except ValueError:
        return None


def call_line_tests(text: str, *, name: str, params: tuple[str, ...]) -> list[PublicTest]:
    """Lines like ``name(1, 2) == 3`` (also ``=>``, ``➞``, ``returns``, ``assert``)."""
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
            test = _call_test(node, expected, name=name, params=params)
            if test is not None:
                tests.append(test)
    return tests


def sentence_tests(text: str, params: tuple[str, ...]) -> list[PublicTest]:
    """Sentences like ``For x = 1, y = 2 the output should be 3``."""
    tests: list[PublicTest] = []
    for line in text.splitlines():
        match = _FOR_SENTENCE.search(line)
        if match is None:
            continue
        try:
            args, kwargs = parse_arguments(match["args"].strip().rstrip(","))
            test = make_test(
                order_arguments(args, kwargs, params=params),
                parse_literal(match["expected"]),
                params=params,
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
