"""Reading a trace's JSON values defensively: a missing or odd value reads as empty (0, "",
``()``), so a page shows a trace from another version rather than failing on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def as_map(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> Sequence[object]:
    return value if isinstance(value, list | tuple) else ()


def as_str(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def as_opt_str(value: object) -> str | None:
    return None if value is None else as_str(value)


def as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_ints(value: object) -> tuple[int, ...]:
    return tuple(as_int(v) for v in as_list(value))


def as_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)
