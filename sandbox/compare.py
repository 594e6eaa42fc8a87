"""Judging outputs outside the sandbox, and the behaviour key used to cluster candidates.

The rules are SANDBOX.md §5, exactly. ``lcb`` (default) is LiveCodeBench's ``grade_stdio``:
line-by-line after stripping, with a per-line fallback that compares whitespace-separated tokens as
``Decimal`` (so ``3.0`` equals ``3`` but there is no tolerance). ``strict`` is the S* reference
(``strip()`` then equality). ``tokens`` is the Kattis/DOMjudge default validator: whitespace-
insensitive, case-insensitive unless asked, with absolute/relative float tolerance. Function results
arrive as canonical JSON (serialized inside the sandbox) and are compared as decoded values here,
so an object whose ``__eq__`` always returns true proves nothing.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation

from sandbox.base import RunResult, Status

COMPARE_MODES = ("lcb", "strict", "tokens")
_DEFAULT_TOL = 1e-6


def _check_mode(mode: str) -> None:
    if mode not in COMPARE_MODES:
        raise ValueError(f"unknown compare mode {mode!r}; expected one of {COMPARE_MODES}")


def _lcb_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _as_decimals(tokens: list[str]) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in tokens]
    except (InvalidOperation, ValueError):
        return None


def _lcb_line_match(actual: str, expected: str) -> bool:
    if actual == expected:
        return True
    left, right = _as_decimals(actual.split()), _as_decimals(expected.split())
    if left is None or right is None or len(left) != len(right):
        return False
    try:
        return left == right
    except InvalidOperation:  # signalling NaN compares by raising
        return False


def _lcb_match(actual: str, expected: str) -> bool:
    left, right = _lcb_lines(actual), _lcb_lines(expected)
    return len(left) == len(right) and all(map(_lcb_line_match, left, right))


def _float_or_none(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _close(actual: float, expected: float, abs_tol: float, rel_tol: float) -> bool:
    diff = abs(actual - expected)
    return diff <= abs_tol or diff <= rel_tol * abs(expected)


def _token_match(
    actual: str, expected: str, *, case_sensitive: bool, abs_tol: float, rel_tol: float
) -> bool:
    if actual == expected or (not case_sensitive and actual.lower() == expected.lower()):
        return True
    want = _float_or_none(expected)
    got = _float_or_none(actual) if want is not None else None
    return want is not None and got is not None and _close(got, want, abs_tol, rel_tol)


def _token_lines(text: str, space_sensitive: bool) -> list[list[str]]:
    if not space_sensitive:
        return [text.split()]
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.split() for line in lines]


def outputs_match(
    actual: str,
    expected: str,
    *,
    mode: str = "lcb",
    case_sensitive: bool = False,
    space_sensitive: bool = False,
    abs_tol: float = _DEFAULT_TOL,
    rel_tol: float = _DEFAULT_TOL,
) -> bool:
    """Whether a program's stdout matches the expected stdout under ``mode`` (SANDBOX.md §5).

    The keyword options only affect ``tokens``. Empty output never matches non-empty expected
    output.
    """
    _check_mode(mode)
    if expected.strip() and not actual.strip():
        return False
    if mode == "strict":
        return actual.strip() == expected.strip()
    if mode == "lcb":
        return _lcb_match(actual, expected)
    left, right = _token_lines(actual, space_sensitive), _token_lines(expected, space_sensitive)
    if len(left) != len(right):
        return False
    options = {"case_sensitive": case_sensitive, "abs_tol": abs_tol, "rel_tol": rel_tol}
    return all(
        len(a) == len(b) and all(_token_match(x, y, **options) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
        for a, b in zip(left, right, strict=True)
    )


def _values_close(actual: object, expected: object, abs_tol: float, rel_tol: float) -> bool:
    """Structural equality with float tolerance on numeric (non-bool) leaves."""
    numeric = (int, float)
    if (
        isinstance(actual, numeric)
        and isinstance(expected, numeric)
        and not isinstance(actual, bool)
        and not isinstance(expected, bool)
    ):
        return actual == expected or _close(float(actual), float(expected), abs_tol, rel_tol)
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            _values_close(a, b, abs_tol, rel_tol) for a, b in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            _values_close(actual[k], expected[k], abs_tol, rel_tol) for k in expected
        )
    return type(actual) is type(expected) and actual == expected


def values_match(
    actual_json: str,
    expected_json: str,
    *,
    mode: str = "lcb",
    abs_tol: float = _DEFAULT_TOL,
    rel_tol: float = _DEFAULT_TOL,
) -> bool:
    """Whether a function's serialized return value equals the expected JSON value.

    ``lcb``/``strict``: Python equality of the decoded values (LiveCodeBench's rule);
    ``tokens``: the same structure with float tolerance on numeric leaves. Undecodable JSON fails.
    """
    _check_mode(mode)
    try:
        actual, expected = json.loads(actual_json), json.loads(expected_json)
    except (ValueError, RecursionError):
        return False
    if mode == "tokens":
        return _values_close(actual, expected, abs_tol, rel_tol)
    try:
        return bool(actual == expected)
    except RecursionError:
        return False


def canonical_output(stdout: str) -> str:
    """Stdout normalised for clustering: LF line ends, no trailing spaces or trailing blank lines.

    Leading spaces, interior blank lines and case stay significant.
    """
    lines = [line.rstrip() for line in stdout.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def canonical_value(value_json: str) -> str:
    """Function results re-serialized with sorted keys and fixed separators."""
    try:
        value = json.loads(value_json)
    except (ValueError, RecursionError):
        return value_json
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def behaviour_key(run: RunResult, mode: str) -> str:
    """Clustering key of one run: ``"OK:" + canonical output`` or the bare failure status.

    ``mode`` is the task mode (``"stdin"`` or ``"function"``). Truncated output is never keyed
    (it becomes ``OUTPUT_LIMIT``), and a clean run without a return value keys as ``WRONG_ANSWER``.
    """
    if run.status is not Status.OK:
        return str(run.status)
    if run.truncated:
        return str(Status.OUTPUT_LIMIT)
    if mode == "function":
        if run.return_json is None:
            return str(Status.WRONG_ANSWER)
        return "OK:" + canonical_value(run.return_json)
    return "OK:" + canonical_output(run.stdout)


def judge(
    run: RunResult, expected: str | None, *, task_mode: str, compare_mode: str = "lcb"
) -> Status:
    """Final verdict of one run against an expected output (``None``: OK if it ran cleanly).

    Failure statuses pass through unchanged; truncated output is ``OUTPUT_LIMIT``; empty output
    against a non-empty expectation, and a function run without a return value, are
    ``WRONG_ANSWER``.
    """
    _check_mode(compare_mode)
    if run.status is not Status.OK:
        return run.status
    if run.truncated:
        return Status.OUTPUT_LIMIT
    if expected is None:
        return Status.OK
    if task_mode == "function":
        if run.return_json is None:
            return Status.WRONG_ANSWER
        matched = values_match(run.return_json, expected, mode=compare_mode)
    else:
        matched = outputs_match(run.stdout, expected, mode=compare_mode)
    return Status.OK if matched else Status.WRONG_ANSWER
