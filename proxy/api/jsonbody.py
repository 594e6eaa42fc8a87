"""Request bodies as JSON the proxy can trust: parsed once, and a 400 when hostile.

``json.loads`` alone lets three kinds of client input through that break the proxy later, as a
500 or worse: nesting deep enough to exhaust the recursion limit (``RecursionError`` in the
parser, or in any recursive code after it), lone UTF-16 surrogates (``"\\ud800"`` is valid JSON
but not valid Unicode: re-encoding the body, hashing it or logging it raises
``UnicodeEncodeError``), and the non-standard tokens ``NaN``/``Infinity`` (and numbers such as
``1e999`` that overflow to infinity), which no OpenAI parameter accepts and JSON does not allow.
Each is a 400 here, the same for every route and every mode (pass-through too: one rule is
simpler and deterministic than "only when the body must be re-encoded"). A string's fault names
its parameter (``messages[0].content``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from proxy.api.handlers import format_loc
from proxy.errors import InvalidRequestError

MAX_DEPTH = 128
"""Arrays and objects inside one another; real requests (JSON schemas included) stay far below."""

_SURROGATE = re.compile("[\ud800-\udfff]")
# NOTE: a surrogate can only come from a \uXXXX escape (the UTF-8 decoder refuses encoded ones),
# so bodies without such an escape (nearly all) skip the per-string scan.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_UNPARSABLE = (
    "We could not parse the JSON body of your request. (HINT: This likely means you "
    "aren't using your HTTP library correctly.)"
)


class _NonFinite(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _refuse_constant(token: str) -> float:
    raise _NonFinite(token)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` parsed as a JSON object, or an ``InvalidRequestError`` (400) saying what is wrong."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite as exc:
        raise InvalidRequestError(
            f"The JSON body contains the number `{exc.token[:40]}`: numbers must be finite "
            "(NaN and Infinity are not JSON, and this value overflows).",
            code="invalid_json",
        ) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # UnicodeDecodeError (not UTF-8) and digit limits included
        raise InvalidRequestError(_UNPARSABLE, code="invalid_json") from exc
    if not isinstance(data, dict):
        raise InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
    _check(data, strings=_SURROGATE_ESCAPE.search(raw) is not None)
    return data


def _too_deep() -> InvalidRequestError:
    return InvalidRequestError(
        f"The JSON body is nested too deeply: at most {MAX_DEPTH} levels of arrays and "
        "objects are accepted.",
        code="invalid_json",
    )


def _check(data: dict[str, Any], *, strings: bool) -> None:
    """Walk ``data`` without recursion: depth at most ``MAX_DEPTH``; with ``strings``, every
    string and key must be valid Unicode (no lone surrogate)."""
    stack: list[tuple[object, int, tuple[int | str, ...]]] = [(data, 1, ())]
    while stack:
        value, depth, loc = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise _too_deep()
            for key, item in value.items():
                if strings:
                    _check_text(key, (*loc, key), what="key")
                stack.append((item, depth + 1, (*loc, key)))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            stack.extend((item, depth + 1, (*loc, i)) for i, item in enumerate(value))
        elif strings and isinstance(value, str):
            _check_text(value, loc, what="value")


def _check_text(text: str, loc: tuple[int | str, ...], *, what: str) -> None:
    found = _SURROGATE.search(text)
    if found is None:
        return
    # NOTE: the parameter is named with its invalid characters replaced, so the error itself
    # is valid Unicode (it is rendered as JSON and logged).
    param = format_loc(tuple(_printable(p) for p in loc)) or "body"
    raise InvalidRequestError(
        f"Invalid {what} '{param}': the text contains a lone UTF-16 surrogate "
        f"(\\u{ord(found.group()):04x}), which is not valid Unicode.",
        param=param,
        code="invalid_value",
    )


def _printable(part: int | str) -> int | str:
    """A key as a parameter name: lone surrogates replaced, at most 64 characters."""
    return _SURROGATE.sub("\ufffd", part[:64]) if isinstance(part, str) else part
