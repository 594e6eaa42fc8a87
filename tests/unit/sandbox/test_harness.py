"""Return-value serialization done inside the sandbox (tuples as lists, tagged ``repr``)."""

from __future__ import annotations

import enum
import json
from collections import namedtuple

from sandbox.harness import canonical_json, to_jsonable


class _Color(enum.IntEnum):
    RED = 1


class _AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "AlwaysEqual()"


def test_plain_values_and_tuples() -> None:
    assert canonical_json((1, [2.5, None], "é")) == '[1,[2.5,null],"é"]'
    assert canonical_json({"b": 1, "a": True}) == '{"a":true,"b":1}'


def test_subclasses_collapse_to_plain_json() -> None:
    point = namedtuple("point", "x y")
    assert to_jsonable(point(1, 2)) == [1, 2]
    assert to_jsonable(_Color.RED) == 1
    assert type(to_jsonable(_Color.RED)) is int


def test_non_json_values_are_tagged() -> None:
    assert to_jsonable(_AlwaysEqual()) == {"__repr__": "AlwaysEqual()"}
    assert to_jsonable({1, 2}) == {"__repr__": "{1, 2}"}
    assert to_jsonable({1: "a", None: "b"}) == {"1": "a", "null": "b"}


def test_cycles_and_depth_are_bounded() -> None:
    loop: list[object] = []
    loop.append(loop)
    encoded = json.loads(canonical_json(loop))
    depth = 0
    while isinstance(encoded, list):
        encoded, depth = encoded[0], depth + 1
    assert encoded == {"__repr__": "<too deep>"}
    assert depth > 100
