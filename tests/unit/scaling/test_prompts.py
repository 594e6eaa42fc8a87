"""Every prompt template renders with its keyword fields (and only those)."""

from __future__ import annotations

from proxy.scaling import prompts


def test_sampling_formats_render() -> None:
    assert "standard input" in prompts.SAMPLE_FORMAT_STDIN
    note = prompts.STARTER_NOTE.format(starter="class Solution:\n    def f(self): ...")
    text = prompts.SAMPLE_FORMAT_FUNCTION.format(signature="f(a, b)", starter_note=note)
    assert "`f(a, b)`" in text
    assert "class Solution" in text


def test_debug_feedback_renders() -> None:
    test = prompts.DEBUG_TEST.format(
        number=1, verdict="WRONG_ANSWER", input="1 2", expected="3", actual="4"
    )
    text = prompts.DEBUG_FEEDBACK.format(failed=1, total=2, tests=test)
    assert "failed 1 of 2" in text
    assert "Actual output:\n4" in text


def test_synthesis_prompts_render() -> None:
    fmt = prompts.INPUT_FORMAT_FUNCTION.format(signature="f(a, b)", example='{"a": 1, "b": 2}')
    assert "every parameter of `f(a, b)`" in fmt
    positional = prompts.INPUT_FORMAT_POSITIONAL.format(signature="f(*args)", example="[1, 2]")
    assert "positional arguments of `f(*args)`" in positional
    text = prompts.SYNTHESIS_INPUTS.format(problem="P", count=5, input_format=fmt)
    assert "Propose 5 test inputs" in text
    assert "never expected outputs" in text
    text = prompts.DISTINGUISH_INPUTS.format(
        problem="P",
        program_a="A()",
        program_b="B()",
        count=3,
        input_format=prompts.INPUT_FORMAT_STDIN,
    )
    assert "Program A:\n```python\nA()" in text
    assert '"3\\n1 2 3\\n"' in text


def test_judge_prompts_render() -> None:
    item = prompts.JUDGE_EXECUTION_ITEM.format(number=1, input="5", output_a="1", output_b="2")
    text = prompts.JUDGE_EXECUTION.format(
        problem="P", program_a="a", program_b="b", executions=item
    )
    assert "real outputs" in text
    assert "Answer: A" in text
    item = prompts.JUDGE_CODE_ITEM.format(number=0, program="x")
    assert "Answer: <number>" in prompts.JUDGE_CODE.format(problem="P", programs=item)


def test_clip_escapes_and_truncates() -> None:
    assert prompts.clip("a\x00b\x1b[31m") == "a\\x00b\\x1b[31m"
    assert prompts.clip("line\nnext\ttab") == "line\nnext\ttab"
    clipped = prompts.clip("x" * 50, 10)
    assert clipped.startswith("x" * 10)
    assert "40 more characters" in clipped
