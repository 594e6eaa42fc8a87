"""Program extraction from model text: fences, prose, reasoning, truncation."""

from __future__ import annotations

from proxy.scaling.programs import (
    extract_program,
    fence,
    normalise_program,
    replace_program,
    strip_reasoning,
)


def test_single_fenced_block_with_prose() -> None:
    text = "Here is my solution:\n```python\nprint(1)\n```\nIt prints one."
    found = extract_program(text)
    assert found is not None
    assert found.program == "print(1)"
    assert found.fenced


def test_prefers_the_block_defining_the_entry_point() -> None:
    text = (
        "```python\ndef solve(x):\n    return x + 1\n```\nUsage:\n```python\nprint(solve(2))\n```\n"
    )
    found = extract_program(text, entry_point="solve")
    assert found is not None
    assert found.program.startswith("def solve")


def test_last_complete_block_wins_without_entry_point() -> None:
    text = "Draft:\n```python\nprint(1\n```\nFixed:\n```py\nprint(2)\n```\n```text\nout\n```"
    found = extract_program(text)
    assert found is not None
    assert found.program == "print(2)"


def test_class_method_entry_point() -> None:
    text = (
        "```python\nclass Solution:\n    def f(self, a):\n        return a\n```\n"
        "```python\ndef f(a):\n    return -a\n```"
    )
    found = extract_program(text, entry_point="Solution.f")
    assert found is not None
    assert "class Solution" in found.program


def test_missing_fence_takes_the_code_after_prose() -> None:
    text = (
        "Sure! The idea is simple.\n\nimport sys\n"
        "print(sum(map(int, sys.stdin.read().split())))\n\nThat's all, folks."
    )
    found = extract_program(text)
    assert found is not None
    assert found.program.startswith("import sys")
    assert "folks" not in found.program
    assert not found.fenced


def test_bare_program_without_defs() -> None:
    found = extract_program("n = int(input())\nprint(n * 2)")
    assert found is not None
    assert found.program == "n = int(input())\nprint(n * 2)"


def test_think_sections_are_ignored() -> None:
    text = "<think>maybe\n```python\nprint('wrong')\n```\n</think>\n```python\nprint('right')\n```"
    found = extract_program(text)
    assert found is not None
    assert found.program == "print('right')"
    assert strip_reasoning("</think>answer") == "answer"
    assert extract_program("<think>cut off by the cap ```python\nprint(1)\n```") is None


def test_unclosed_final_fence_is_used_only_if_it_parses() -> None:
    assert extract_program("```python\nprint(1)\nprint(2)\n") is not None
    assert extract_program("```python\ndef f(:\n") is None


def test_no_code_gives_none() -> None:
    assert extract_program("I cannot help with that.") is None
    assert extract_program("```python\n\n```") is None


def test_replace_program_keeps_the_message() -> None:
    text = "<think>x</think>Explanation.\n```python\nprint(1)\n```\nDone."
    assert replace_program(text, "print(2)\n") == "Explanation.\n```python\nprint(2)\n```\nDone."
    assert replace_program("print(1)", "print(2)") == fence("print(2)")


def test_normalise_program_ignores_layout_only() -> None:
    assert normalise_program("x = 1  # c\n\n\nprint( x )") == normalise_program("x=1\nprint(x)")
    assert normalise_program("x = 1") != normalise_program("x = 2")
    assert normalise_program("def f(:\n  pass  \n") == "def f(:\n  pass"
