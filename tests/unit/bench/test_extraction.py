"""Answer text -> graded program, the way a user would copy the code out of an answer."""

from __future__ import annotations

from bench.accuracy.extraction import defines, extract_program

FUNC = "def add(a, b):\n    return a + b\n"


def test_single_python_block():
    assert extract_program(f"Here you go:\n```python\n{FUNC}```\nDone.") == FUNC


def test_prefers_the_block_defining_the_entry_point_over_example_usage():
    answer = f"```python\n{FUNC}```\nExample:\n```python\nprint(add(1, 2))\nprint(add(2, 3))\n```"
    assert extract_program(answer, entry_point="add") == FUNC


def test_last_defining_block_wins_when_the_answer_corrects_itself():
    fixed = "def add(a, b):\n    return b + a\n"
    answer = f"```python\n{FUNC}```\nActually:\n```python\n{fixed}```"
    assert extract_program(answer, entry_point="add") == fixed


def test_python_blocks_beat_text_blocks_for_stdin_programs():
    program = "n = int(input())\nprint(n * 2)\n"
    answer = f"```text\n3\n```\n```python\n{program}```\n```\n6\n```"
    assert extract_program(answer) == program


def test_longest_parsing_block_without_entry_point():
    long_program = "import sys\n\ndata = sys.stdin.read().split()\nprint(len(data))\n"
    answer = f"```python\nprint(1\n```\n```python\n{long_program}```\n```python\nx = 1\n```"
    assert extract_program(answer) == long_program


def test_unfenced_answer_is_taken_whole():
    assert extract_program(f"\n{FUNC}\n") == FUNC
    assert extract_program("   ") == ""


def test_unclosed_fence_from_a_truncated_answer():
    assert extract_program(f"Sure.\n```python\n{FUNC}") == FUNC


def test_reasoning_is_dropped():
    answer = f"<think>```python\ndef add(a, b):\n    return 0\n```</think>\n```python\n{FUNC}```"
    assert extract_program(answer, entry_point="add") == FUNC


def test_defines_matches_whole_names_only():
    assert defines(FUNC, "add")
    assert defines("class S:\n    async def add(self):\n        pass\n", "add")
    assert not defines("def add_one(x):\n    return x\n", "add")
