"""Input prompts, and parsing and validating synthesized inputs (truncated replies salvaged)."""

from __future__ import annotations

from proxy.scaling.prompts.inputs import (
    distinguish_prompt,
    input_format,
    parse_inputs,
    salvage_json_array,
    synthesis_prompt,
)
from proxy.scaling.types import CodeTask, PublicTest, Signature


def task(kind: str = "function", *, params: tuple[str, ...] = ("a", "b")) -> CodeTask:
    return CodeTask(
        problem="p",
        conversation=(),
        kind=kind,  # type: ignore[arg-type]
        model="m",
        signature=Signature("f", params) if kind == "function" else None,
    )


def test_function_inputs_need_the_right_arity() -> None:
    reply = '```json\n[[1, 2], [1], [[1, 2], "x"], {"b": 2, "a": 1}, "s", [1, 2]]\n```'
    assert parse_inputs(reply, task=task(), limit=10) == ("[1,2]", '[[1,2],"x"]')


def test_stdin_inputs_are_strings_with_a_final_newline() -> None:
    reply = 'Sure:\n```json\n["1 2", "3\\n4\\n", 5, [["x"]], ""]\n```'
    assert parse_inputs(reply, task=task("stdin"), limit=10) == ("1 2\n", "3\n4\n")


def test_limit_and_dedupe() -> None:
    reply = "[[1, 1], [1, 1], [2, 2], [3, 3]]"
    assert parse_inputs(reply, task=task(), limit=2) == ("[1,1]", "[2,2]")


def test_truncated_reply_is_salvaged() -> None:
    reply = '```json\n[[1, 2], [3, 4], [5, "unfinish'
    assert parse_inputs(reply, task=task(), limit=10) == ("[1,2]", "[3,4]")
    assert salvage_json_array("no array here") == []
    assert salvage_json_array("[1, 2") == [1, 2]


def test_python_literal_elements_are_salvaged_from_a_cut_off_reply() -> None:
    # HumanEval/82 on the dev split: JSON objects with Python's True, cut off by the token cap
    reply = (
        '```json\n[\n    {"string": "Hello", "expected": True},\n'
        '    {"string": "a, [b]", "expected": False},\n    {"string": "kit'
    )
    one = CodeTask(problem="p", conversation=(), kind="function", model="m",
                   signature=Signature("prime_length", ("string",)))  # fmt: skip
    assert parse_inputs(reply, task=one, limit=10) == ('["Hello"]', '["a, [b]"]')
    assert salvage_json_array("[1, (2, 'x]'), {'k': None}, [3") == [1, (2, "x]"), {"k": None}]
    assert salvage_json_array("[1, nonsense, 2]") == [1]


def test_python_literals_are_accepted() -> None:
    reply = "```python\n[(1, 'a'), (2, 'b')]\n```"
    assert parse_inputs(reply, task=task(), limit=10) == ('[1,"a"]', '[2,"b"]')
    assert parse_inputs("nothing useful", task=task(), limit=10) == ()


def test_input_format_uses_a_prompt_example_when_there_is_one() -> None:
    plain = input_format(task())
    assert "JSON object giving every parameter of `f(a, b)`" in plain
    assert '{"a": ..., "b": ...}' in plain
    with_test = CodeTask(
        problem="p",
        conversation=(),
        kind="function",
        model="m",
        signature=Signature("f", ("a", "b")),
        public_tests=(PublicTest("[[1],2]", "3"),),
    )
    assert 'for example {"a": [1], "b": 2}' in input_format(with_test)
    assert "positional arguments of `f()`" in input_format(task(params=()))
    assert "standard input" in input_format(task("stdin"))


def test_named_inputs_for_one_list_parameter() -> None:
    reply = '[{"xs": [1, 2]}, {"xs": [], "expected": 0}, {"ys": [1]}, [[3]]]'
    assert parse_inputs(reply, task=task(params=("xs",)), limit=10) == ("[[1,2]]", "[[]]", "[[3]]")


def test_wrapped_inputs_are_unwrapped_and_expected_outputs_ignored() -> None:
    stdin_reply = '[{"input": "3\\n1 2 3\\n", "expected": "8"}, {"expected": "1"}]'
    assert parse_inputs(stdin_reply, task=task("stdin"), limit=5) == ("3\n1 2 3\n",)
    function_reply = '[{"input": {"a": 1, "b": 2}, "output": 3}, {"input": [4, 5]}]'
    assert parse_inputs(function_reply, task=task(), limit=5) == ("[1,2]", "[4,5]")


def test_synthesis_prompt_asks_for_inputs_only_in_the_task_format() -> None:
    text = synthesis_prompt(task(), count=5)
    assert text.startswith("Here is a programming problem:\n\np\n")
    assert "Propose 5 test inputs" in text
    assert "never expected outputs" in text
    assert "every parameter of `f(a, b)`" in text


def test_distinguish_prompt_shows_both_programs() -> None:
    text = distinguish_prompt(task("stdin"), programs=("A()", "B()"), count=3)
    assert "Program A:\n```python\nA()\n```" in text
    assert "Program B:\n```python\nB()\n```" in text
    assert "up to 3 valid test inputs" in text
    assert '"3\\n1 2 3\\n"' in text


def test_the_last_fence_is_read_even_when_a_reply_shows_an_example_first() -> None:
    reply = "Format:\n```json\n[[0, 0]]\n```\nInputs:\n```json\n[[1, 2], [3, 4]]\n```"
    assert parse_inputs(reply, task=task(), limit=10) == ("[1,2]", "[3,4]")


def test_stdin_inputs_written_as_arrays_of_strings_are_read_as_text() -> None:
    reply = (
        '[["6\\n3 1 4 1 5 9\\n"], ["4\\n1 2 3 4", "1 3 6 10"], ["3", "1 2 3", ""], '
        '[3, "x"], [], "2\\n5 5"]'
    )
    assert parse_inputs(reply, task=task("stdin"), limit=10) == (
        "6\n3 1 4 1 5 9\n",  # the input alone
        "4\n1 2 3 4\n",  # the input, then an expected output that is dropped
        "3\n1 2 3\n",  # the input's lines
        "2\n5 5\n",
    )


def test_objects_written_one_after_another_without_an_array_are_read() -> None:
    reply = (
        '```json\n{\n  "input": {"a": [1.0, 2.0], "b": 0.5}\n}\n'
        '{\n  "input": {"a": [3.0], "b": 1}\n}\n{\n  "input": {"a": [4'
    )
    assert parse_inputs(reply, task=task(), limit=5) == ("[[1.0,2.0],0.5]", "[[3.0],1]")


def test_an_object_holding_the_array_is_still_read_as_the_array() -> None:
    reply = '```json\n{"inputs": [[1, 2], [3, 4], {"a": 5, "b": 6}]}\n```'
    assert parse_inputs(reply, task=task(), limit=5) == ("[1,2]", "[3,4]", "[5,6]")
