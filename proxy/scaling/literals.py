"""Python/JSON literals as prompts write them, turned into canonical JSON.

Prompts show examples in Python (``(1, 'a')``, ``True``, ``None``) or in JSON-ish LeetCode style
(``true``, ``null``). Function-task tests carry arguments and expected values as canonical JSON
(sorted keys, fixed separators, tuples as lists), the same shape the sandbox harness reports
return values in, so ``sandbox.compare`` can decode and compare both sides.

Only literals are evaluated (a small AST walker, never ``eval``): anything else is rejected with
``ValueError`` and the example is skipped rather than guessed.
"""

from __future__ import annotations

import ast
import json
import math

_NAMED_CONSTANTS: dict[str, object] = {
    "True": True,
    "False": False,
    "None": None,
    "true": True,
    "false": False,
    "null": None,
    "inf": math.inf,
    "nan": math.nan,
}


def canonical_json(value: object) -> str:
    """Serialise a literal value as canonical JSON (sorted keys, tuples as lists).

    Values JSON cannot hold (sets, bytes, complex) become ``{"__repr__": repr(value)}``, the tag
    the sandbox harness uses for non-JSON return values, so both sides agree.
    """
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str | int | float | bool) for k in value):
        return {str(k) if not isinstance(k, str) else k: _jsonable(v) for k, v in value.items()}
    return {"__repr__": repr(value)}


def parse_literal(text: str) -> object:
    """Parse one literal written in Python or JSON style; ``ValueError`` if it is not one."""
    source = text.strip()
    if not source:
        raise ValueError("empty literal")
    try:
        return _evaluate(ast.parse(source, mode="eval").body)
    except (SyntaxError, ValueError) as exc:
        # NOTE: prose often ends an example with a full stop ("the output should be 6.").
        if source.endswith(".") and not source.endswith(".."):
            return parse_literal(source[:-1])
        raise ValueError(f"not a literal: {source[:60]!r}") from exc


def parse_arguments(text: str) -> tuple[tuple[object, ...], dict[str, object]]:
    """Parse ``1, [2]`` or ``a = 1, b = [2]`` (LeetCode style) into positional and named values."""
    try:
        node = ast.parse(f"_f({text.strip()})", mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not an argument list: {text[:60]!r}") from exc
    if not isinstance(node, ast.Call):
        raise ValueError("not an argument list")
    return parse_call_node(node)


def parse_call_node(node: ast.Call) -> tuple[tuple[object, ...], dict[str, object]]:
    """The literal positional and keyword arguments of a call node."""
    args = tuple(_evaluate(a) for a in node.args)
    kwargs: dict[str, object] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError("**kwargs are not literals")
        kwargs[keyword.arg] = _evaluate(keyword.value)
    return args, kwargs


def order_arguments(
    args: tuple[object, ...], kwargs: dict[str, object], *, params: tuple[str, ...]
) -> tuple[object, ...]:
    """Map named arguments onto the signature's positional order.

    When the names do not match the signature (prompts rename parameters), the written order is
    kept if the count matches; otherwise ``ValueError``.
    """
    if not kwargs:
        return args
    if params and all(name in params for name in kwargs):
        rest = [p for p in params[len(args) :] if p in kwargs]
        if len(rest) != len(kwargs):
            raise ValueError("arguments do not fit the signature")
        return args + tuple(kwargs[p] for p in rest)
    if params and len(args) + len(kwargs) != len(params):
        raise ValueError("named arguments do not match the signature")
    return args + tuple(kwargs.values())


def _evaluate(node: ast.expr) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.id]
    if isinstance(node, ast.List):
        return [_evaluate(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return {_hashable(_evaluate(e)) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("dict unpacking is not a literal")
        return {
            _hashable(_evaluate(k)): _evaluate(v)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _evaluate(node.operand)
        if isinstance(operand, int | float) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    raise ValueError(f"not a literal node: {type(node).__name__}")


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError as exc:
        raise ValueError("unhashable key") from exc
    return value
