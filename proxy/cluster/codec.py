"""A run's progress and result as JSON, so that a replica that did not run it can answer with it.

A follower on another replica (``runs.py``) renders the holder's ``ScalingResult`` exactly as the
holder does (the chat completion, its ``x-sstar-*`` summary headers, the stream, the Responses
object), so the decoded value must equal the original, not merely resemble it. The engine's
values are frozen dataclasses of plain fields, tuples and literals (``proxy.scaling.types``);
pydantic validates them from JSON by their type hints (strictly: no coercion), so a field added
there travels without a change here, and a value of the wrong shape raises ``CodecError``
rather than becoming a wrong answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from proxy.scaling.types import ProgressEvent, ScalingResult


class CodecError(ValueError):
    """Stored JSON that does not decode to the type asked for (another version wrote it)."""


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}
"""One adapter per type, built on first use (building one compiles its validator)."""


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def encode(value: ScalingResult | ProgressEvent) -> str:
    """Compact JSON of a result or an event."""
    return _adapter(type(value)).dump_json(value).decode()


def decode_result(text: str | bytes) -> ScalingResult:
    result: ScalingResult = _decode(ScalingResult, text)
    return result


def decode_event(text: str | bytes) -> ProgressEvent:
    event: ProgressEvent = _decode(ProgressEvent, text)
    return event


def _decode(kind: type[Any], text: str | bytes) -> Any:
    try:
        return _adapter(kind).validate_json(text, strict=True)
    except ValidationError as exc:
        raise CodecError(f"{kind.__name__}: {exc.error_count()} invalid field(s)") from exc
