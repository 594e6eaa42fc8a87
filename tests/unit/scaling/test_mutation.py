"""Type-aware variants of known function-task inputs (order, arguments, size, values)."""

from __future__ import annotations

import json
from typing import Literal

from proxy.scaling.mutation import clustering_inputs, mutate_inputs
from proxy.scaling.types import CodeTask, PublicTest, Signature


def _task(kind: Literal["function", "stdin"] = "function", *tests: PublicTest) -> CodeTask:
    signature = Signature("f", ("numbers", "k")) if kind == "function" else None
    return CodeTask(
        problem="p", conversation=(), kind=kind, model="m", signature=signature, public_tests=tests
    )


def _decoded(variants: tuple[str, ...]) -> list[object]:
    return [json.loads(v) for v in variants]


def test_a_list_argument_is_reordered_then_shortened_keeping_other_arguments() -> None:
    variants = _decoded(mutate_inputs(["[[1,2,3],true]"], task=_task(), limit=10))
    assert variants == [
        [[3, 2, 1], True],  # reversed
        [[1, 2], True],  # without its last element
        [[2, 3, 1], True],  # rotated by one
        [[1], True],  # cut to its first element
    ]


def test_a_string_is_reversed_and_shortened() -> None:
    variants = _decoded(mutate_inputs(['["Hello"]'], task=_task(), limit=10))
    assert variants == [["olleH"], ["Hell"], ["H"]]


def test_same_typed_scalars_rotate_and_integers_are_nudged() -> None:
    variants = _decoded(mutate_inputs(["[5,2,7]"], task=_task(), limit=10))
    assert variants[0] == [7, 5, 2]  # rotation: any_int(7, 5, 2) must be True like (5, 2, 7)
    assert variants[1:] == [[6, 2, 7], [4, 2, 7], [5, 3, 7], [5, 1, 7], [5, 2, 8], [5, 2, 6]]


def test_booleans_and_floats_are_not_nudged_and_mixed_types_do_not_rotate() -> None:
    assert mutate_inputs(["[true,1.5]"], task=_task(), limit=10) == ()
    assert _decoded(mutate_inputs(['[3,"ab"]'], task=_task(), limit=10)) == [
        [3, "ba"],
        [3, "a"],
        [4, "ab"],
        [2, "ab"],
    ]


def test_every_kind_gets_a_turn_before_any_gets_a_second() -> None:
    variants = _decoded(mutate_inputs(["[[1,2,3],4]"], task=_task(), limit=3))
    assert variants == [[[3, 2, 1], 4], [[1, 2], 4], [[1, 2, 3], 5]]


def test_known_inputs_and_duplicates_are_never_returned() -> None:
    known = ["[[1,2]]", "[[2,1]]", "[[1]]", "[[2]]", "not json", '{"a": 1}']
    # [1,2] and [2,1] reorder into each other and shorten into [1] and [2], all known
    assert mutate_inputs(known, task=_task(), limit=10) == ()


def test_limit_and_task_kind() -> None:
    inputs = ["[[1,2,3],[4,5,6]]"]
    assert len(mutate_inputs(inputs, task=_task(), limit=10)) == 8
    assert len(mutate_inputs(inputs, task=_task(), limit=3)) == 3
    assert mutate_inputs(inputs, task=_task(), limit=0) == ()
    assert mutate_inputs(["1 2 3\n"], task=_task("stdin"), limit=5) == ()


def test_clustering_inputs_are_the_synthesized_else_the_public_ones_then_variants() -> None:
    task = _task("function", PublicTest("[[1,2],0]", "1"))
    inputs, mutated = clustering_inputs(task, ("[[5,6],1]",), limit=2)
    assert inputs == ("[[5,6],1]", *mutated)
    assert len(mutated) == 2
    inputs, mutated = clustering_inputs(task, (), limit=1)
    assert inputs == ("[[1,2],0]", *mutated)
    assert mutated == ("[[2,1],0]",)
