"""Stage 1's prompt: the format instruction appended to the client's conversation."""

from __future__ import annotations

from proxy.scaling.prompts.sampling import format_instruction, render_signature, sampling_messages
from proxy.scaling.types import CodeTask, Signature
from proxy.upstream.base import Message


def task(**changes: object) -> CodeTask:
    fields: dict[str, object] = {
        "problem": "Add two numbers.",
        "conversation": (Message("system", "s"), Message("user", "Add two numbers.")),
        "kind": "stdin",
        "model": "m",
    }
    fields.update(changes)
    return CodeTask(**fields)  # type: ignore[arg-type]


def test_instruction_is_appended_to_the_last_user_turn() -> None:
    messages = sampling_messages(task())
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[-1].content.startswith("Add two numbers.\n\nWrite a complete Python 3 program")
    assert "standard input" in messages[-1].content


def test_instruction_after_a_non_user_turn_and_without_conversation() -> None:
    prefilled = task(conversation=(Message("user", "q"), Message("assistant", "a")))
    assert sampling_messages(prefilled)[-1] == Message("user", format_instruction(prefilled))
    assert sampling_messages(task(conversation=()))[0].content.startswith("Add two numbers.")


def test_function_instruction_names_the_signature_and_starter() -> None:
    sig = Signature("twoSum", ("nums", "target"), "Solution", "class Solution:\n    def twoSum")
    text = format_instruction(task(kind="function", signature=sig))
    assert "`Solution.twoSum(self, nums, target)` starting from this code:" in text
    assert "```python\nclass Solution:\n    def twoSum\n```" in text
    assert "return it" in text


def test_function_instruction_without_starter_code() -> None:
    text = format_instruction(task(kind="function", signature=Signature("f", ("a", "b"))))
    assert "by implementing `f(a, b)`. Do not read" in text


def test_render_signature() -> None:
    assert render_signature(Signature("f", ("a",))) == "f(a)"
    assert render_signature(Signature("g", ("self", "x"), "Solution")) == "Solution.g(self, x)"
    assert render_signature(Signature("h", (), "Solution")) == "Solution.h(self)"
