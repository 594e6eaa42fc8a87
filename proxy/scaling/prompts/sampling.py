"""Stage 1's prompt: the client's own conversation with an output-format instruction appended.

There is no reply parser here: a sample's program is found by ``proxy.scaling.programs``, the
same way for every answer. Debugging reuses these messages as the start of its conversation.
"""

from __future__ import annotations

from proxy.scaling.types import CodeTask, Signature
from proxy.upstream.base import Message

SAMPLE_FORMAT_STDIN = (
    "Write a complete Python 3 program that solves the problem. It must read the input from "
    "standard input and print the answer to standard output. Give the whole program in one "
    "```python fenced code block."
)

SAMPLE_FORMAT_FUNCTION = (
    "Write Python 3 code that solves the problem by implementing `{signature}`{starter_note}. "
    "Do not read from standard input and do not print the answer: return it. Give the whole "
    "solution, including imports, in one ```python fenced code block."
)

STARTER_NOTE = " starting from this code:\n```python\n{starter}\n```\n"


def render_signature(signature: Signature) -> str:
    """``name(a, b)``, or ``Solution.name(self, a, b)`` for a class method."""
    params = ", ".join(signature.params)
    if signature.class_name is None:
        return f"{signature.name}({params})"
    if not signature.params or signature.params[0] != "self":
        params = ", ".join(("self", *signature.params))
    return f"{signature.class_name}.{signature.name}({params})"


def format_instruction(task: CodeTask) -> str:
    """The output-format instruction appended to the client's request."""
    if task.kind == "stdin" or task.signature is None:
        return SAMPLE_FORMAT_STDIN
    starter = task.signature.starter_code
    note = STARTER_NOTE.format(starter=starter.strip()) if starter else ""
    return SAMPLE_FORMAT_FUNCTION.format(
        signature=render_signature(task.signature), starter_note=note
    )


def sampling_messages(task: CodeTask) -> tuple[Message, ...]:
    """The client's conversation with the format instruction appended to its last user turn."""
    instruction = format_instruction(task)
    conversation = list(task.conversation) or [Message("user", task.problem)]
    last = conversation[-1]
    if last.role == "user":
        conversation[-1] = Message("user", f"{last.content.rstrip()}\n\n{instruction}")
    else:
        conversation.append(Message("user", instruction))
    return tuple(conversation)
