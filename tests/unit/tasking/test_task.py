"""build_task: the engine's task from a request the detector chose for S*."""

from __future__ import annotations

import pytest

from proxy.detection import Decision, TaskShape
from proxy.errors import InvalidRequestError
from proxy.scaling.types import PublicTest, Signature
from proxy.tasking import ExplicitTest, build_task, conversation
from proxy.upstream.base import Message

PROBLEM = 'def add(a, b):\n    """Add.\n    >>> add(1, 2)\n    3\n    """\n'
SHAPE = TaskShape("function", signature=Signature("add", ("a", "b")), evidence="stub")
DECISION = Decision(True, "coding_task", "a task", SHAPE, PROBLEM)
BODY = {
    "model": "sstar/m",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": PROBLEM}]},
    ],
}


def test_tests_come_from_the_prompt_and_the_shape_from_the_detector() -> None:
    task = build_task(BODY, DECISION, model="m")
    assert (task.kind, task.signature, task.model, task.problem) == (
        "function",
        SHAPE.signature,
        "m",
        PROBLEM,
    )
    assert task.public_tests == (PublicTest("[1,2]", "3"),)
    assert task.conversation == (Message("system", "Be brief."), Message("user", PROBLEM))


def test_explicit_tests_replace_the_prompts_examples() -> None:
    tests = (ExplicitTest([2, 2], 4), ExplicitTest("[0, 1]", 1))
    task = build_task(BODY, DECISION, model="m", tests=tests)
    assert task.public_tests == (
        PublicTest("[2,2]", "4", source="request"),
        PublicTest("[0,1]", "1", source="request"),
    )


def test_without_a_shape_the_program_is_a_stdin_program() -> None:
    forced = Decision(True, "explicit_tests", "explicit tests supplied", None, "Sum the input.")
    task = build_task(BODY, forced, model="m", tests=(ExplicitTest("1 2\n", "3"),))
    assert (task.kind, task.signature) == ("stdin", None)
    assert task.public_tests == (PublicTest("1 2\n", "3", source="request"),)


@pytest.mark.parametrize("bad", ["not json", "5", '{"a": 1}'])
def test_a_function_test_input_must_be_an_argument_array(bad: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        build_task(BODY, DECISION, model="m", tests=(ExplicitTest(bad, 1),))
    assert info.value.param == "sstar.tests"


def test_conversation_keeps_text_turns_only() -> None:
    messages = [
        {"role": "developer", "content": "d"},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        "garbage",
    ]
    assert conversation(messages) == (
        Message("developer", "d"),
        Message("assistant", ""),
        Message("user", "a\nb"),
    )
    assert conversation(None) == ()
