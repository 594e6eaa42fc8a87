"""The engine's ``CodeTask`` from a chat request the detector chose for S*.

The detector already read the problem text and the task's shape (stdin program or named
function, with its signature). What is left: the conversation as plain text messages (sampling
keeps the client's whole history), and the public tests, from the client when it sent them
explicitly (``sstar.tests``), else the examples the prompt shows (``examples.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from proxy.detection import Decision
from proxy.errors import InvalidRequestError
from proxy.scaling.literals import canonical_json
from proxy.scaling.types import CodeTask, PublicTest, TaskKind
from proxy.tasking.examples import extract_public_tests
from proxy.upstream.base import Message, Role

_TEXT_ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant"})


@dataclass(frozen=True, slots=True)
class ExplicitTest:
    """A public test the client sent: stdin text, or the arguments of a function task (a list,
    or its JSON text), and the expected output or return value."""

    input: str | list[object]
    output: object


def conversation(messages: object) -> tuple[Message, ...]:
    """The chat history as plain text messages (the detector already refused non-text parts)."""
    out: list[Message] = []
    for raw in messages if isinstance(messages, list) else []:
        role = raw.get("role") if isinstance(raw, Mapping) else None
        if role not in _TEXT_ROLES:
            continue
        content = raw.get("content")
        if isinstance(content, list):
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        role_name: Role = role
        out.append(Message(role=role_name, content=str(content or "")))
    return tuple(out)


def explicit_public_tests(
    tests: Sequence[ExplicitTest], *, kind: TaskKind
) -> tuple[PublicTest, ...]:
    """Client-supplied tests in the engine's form (function arguments and results as JSON).

    Raises ``InvalidRequestError`` naming ``sstar.tests`` when a function test's input is not a
    JSON array of arguments.
    """
    converted = []
    for number, test in enumerate(tests):
        if kind == "stdin":
            converted.append(PublicTest(str(test.input), str(test.output), source="request"))
            continue
        try:
            args = test.input if isinstance(test.input, list) else json.loads(test.input)
        except ValueError:
            args = None
        if not isinstance(args, list):
            raise InvalidRequestError(
                f"Invalid S* test {number}: a function task's input is a JSON array of arguments.",
                param="sstar.tests",
            )
        converted.append(
            PublicTest(canonical_json(args), canonical_json(test.output), source="request")
        )
    return tuple(converted)


def build_task(
    body: Mapping[str, object],
    decision: Decision,
    *,
    model: str,
    tests: Sequence[ExplicitTest] = (),
) -> CodeTask:
    """The engine's task: kind and signature from the detector, tests from the client or prompt.

    With no task shape (S* forced, or explicit tests only) nothing can be called by name, so the
    program is a stdin program. ``model`` is the base model (any ``sstar/`` alias removed).
    """
    shape = decision.shape
    problem = decision.problem or ""
    kind: TaskKind = shape.kind if shape is not None else "stdin"
    signature = shape.signature if shape is not None else None
    public_tests = (
        explicit_public_tests(tests, kind=kind)
        if tests
        else extract_public_tests(problem, kind=kind, signature=signature)
    )
    return CodeTask(
        problem=problem,
        conversation=conversation(body.get("messages")),
        kind=kind,
        model=model,
        signature=signature,
        public_tests=public_tests,
    )
