"""A run's progress and result as JSON, so that a replica that did not run it can answer with it.

A follower on another replica (``runs.py``) renders the holder's ``ScalingResult`` exactly as the
holder does (the chat completion, its ``x-sstar-*`` summary headers, the stream, the Responses
object), so the decoded value must equal the original, not merely resemble it. The engine's
values are frozen dataclasses of plain fields, tuples and literals (``proxy.scaling.types``);
the decoder follows their type hints, so a field added there travels without a change here, and
a value of the wrong shape raises ``CodecError`` rather than becoming a wrong answer.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from proxy.scaling.types import ProgressEvent, ScalingResult

T = TypeVar("T")


class CodecError(ValueError):
    """Stored JSON that does not decode to the type asked for (another version wrote it)."""


def encode(value: ScalingResult | ProgressEvent) -> str:
    """Compact JSON of a result or an event (``dataclasses.asdict``: tuples become lists)."""
    return json.dumps(dataclasses.asdict(value), separators=(",", ":"), ensure_ascii=False)


def decode_result(text: str | bytes) -> ScalingResult:
    result: ScalingResult = _decode(ScalingResult, _load(text))
    return result


def decode_event(text: str | bytes) -> ProgressEvent:
    event: ProgressEvent = _decode(ProgressEvent, _load(text))
    return event


def _load(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CodecError(f"not JSON: {exc}") from exc


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(kind: Any, data: Any) -> Any:
    origin = get_origin(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(data, dict):
            raise CodecError(f"{kind.__name__}: expected an object")
        hints = _hints(kind)
        known = {f.name for f in dataclasses.fields(kind) if f.init}
        values = {name: _decode(hints[name], data[name]) for name in known if name in data}
        try:
            return kind(**values)
        except TypeError as exc:
            raise CodecError(f"{kind.__name__}: {exc}") from exc
    if origin is tuple:
        args = get_args(kind)
        if not isinstance(data, list):
            raise CodecError("expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], item) for item in data)
        if len(args) != len(data):
            raise CodecError("a tuple of the wrong length")
        return tuple(_decode(arg, item) for arg, item in zip(args, data, strict=True))
    if origin in (Union, types.UnionType):
        args = get_args(kind)
        if data is None and type(None) in args:
            return None
        for arg in args:
            if arg is not type(None):
                return _decode(arg, data)
    if origin is typing.Literal:
        if data not in get_args(kind):
            raise CodecError(f"{data!r} is not one of {get_args(kind)}")
        return data
    if origin is dict or kind is object or kind is Any:
        return data
    if kind is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if kind in (str, int, bool) and type(data) is kind:
        return data
    raise CodecError(f"{data!r} is not a {kind}")
