"""Model-listed examples survive only if their expected output is in the prompt."""

from __future__ import annotations

from proxy.scaling.extraction_fallback import parse_examples
from proxy.scaling.types import CodeTask, PublicTest, Signature

STDIN_PROBLEM = """Print the sum of the numbers given on one line.
For instance, given the line
    1 2 3
your program should answer
    6
"""


def task(kind: str, problem: str, params: tuple[str, ...] = ()) -> CodeTask:
    return CodeTask(
        problem=problem,
        conversation=(),
        kind=kind,  # type: ignore[arg-type]
        model="m",
        signature=Signature("f", params) if kind == "function" else None,
    )


def test_stdin_examples_must_be_shown_in_the_prompt() -> None:
    reply = (
        '```json\n[{"input": "1 2 3", "output": "6"}, {"input": "4 5", "output": "9"},'
        ' {"input": "1", "output": 1}, "junk"]\n```'
    )
    tests = parse_examples(reply, task=task("stdin", STDIN_PROBLEM))
    assert tests == (PublicTest("1 2 3\n", "6", source="model"),)


def test_function_examples_in_python_or_json_spelling() -> None:
    problem = "f([1, 2], 3) gives [3, 4] and f([], 0) is the empty list; f([5], 1) -> true"
    reply = (
        '[{"input": [[1, 2], 3], "output": [3, 4]}, {"input": [[], 0], "output": []},'
        ' {"input": [[5], 1], "output": true}, {"input": [[9], 9], "output": [18]},'
        ' {"input": [1], "output": 2}]'
    )
    tests = parse_examples(reply, task=task("function", problem, ("xs", "k")))
    # "[]" does occur in the prompt (as an argument): the rule is verbatim occurrence, no more
    assert [(t.input, t.expected) for t in tests] == [
        ("[[1,2],3]", "[3,4]"),
        ("[[],0]", "[]"),
        ("[[5],1]", "true"),
    ]


def test_nothing_parsable() -> None:
    assert parse_examples("There are no examples.", task=task("stdin", STDIN_PROBLEM)) == ()
