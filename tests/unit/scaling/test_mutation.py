"""Order-changing variants of known function-task inputs."""

from __future__ import annotations

import json
from typing import Literal

from proxy.scaling.mutation import mutate_inputs
from proxy.scaling.types import CodeTask, Signature


def _task(kind: Literal["function", "stdin"] = "function") -> CodeTask:
    signature = Signature("f", ("numbers", "k")) if kind == "function" else None
    return CodeTask(problem="p", conversation=(), kind=kind, model="m", signature=signature)


def test_each_list_argument_is_reversed_and_rotated_keeping_its_elements() -> None:
    variants = mutate_inputs(["[[1,2,3],2]"], task=_task(), limit=10)
    assert [json.loads(v) for v in variants] == [[[3, 2, 1], 2], [[2, 3, 1], 2]]
    for variant in variants:
        numbers, k = json.loads(variant)
        assert sorted(numbers) == [1, 2, 3]
        assert k == 2


def test_known_inputs_and_duplicates_are_never_returned() -> None:
    known = ["[[1,2]]", "[[2,1]]", "[[5,5,5]]", "[7]", "not json", '{"a": 1}']
    # [1,2] reversed and rotated is [2,1], which is already known; [5,5,5] has no new order
    assert mutate_inputs(known, task=_task(), limit=10) == ()


def test_limit_and_task_kind() -> None:
    inputs = ["[[1,2,3],[4,5,6]]"]
    assert len(mutate_inputs(inputs, task=_task(), limit=10)) == 4
    assert len(mutate_inputs(inputs, task=_task(), limit=3)) == 3
    assert mutate_inputs(inputs, task=_task(), limit=0) == ()
    assert mutate_inputs(["1 2 3\n"], task=_task("stdin"), limit=5) == ()
