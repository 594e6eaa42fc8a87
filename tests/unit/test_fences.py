"""The one fence parser: CommonMark fences, info words, unclosed blocks, stripping."""

from __future__ import annotations

from proxy.fences import fenced_blocks, info_word, strip_fences


def _pairs(text: str) -> list[tuple[str, str, bool]]:
    return [(b.info, b.body, b.closed) for b in fenced_blocks(text)]


def test_blocks_in_order_with_their_info_words() -> None:
    text = "Intro\n```Python title\nx = 1\n```\nmiddle\n~~~\nraw\n~~~\n```py:src/a.py\ny\n```"
    assert _pairs(text) == [("python", "x = 1\n", True), ("", "raw\n", True), ("py", "y\n", True)]


def test_body_positions_slice_the_text() -> None:
    text = "a\n  ```python\n  def f(): pass\n  ```\nb"
    (block,) = fenced_blocks(text)
    assert text[block.start : block.end] == block.body == "  def f(): pass\n"
    assert text[block.outer_start : block.outer_end] == "  ```python\n  def f(): pass\n  ```"


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert _pairs("done:\n```python\ndef f(x):\n    return") == [
        ("python", "def f(x):\n    return", False)
    ]


def test_closing_needs_the_same_character_at_least_as_long() -> None:
    text = "````md\n```python\ninner\n```\n````\nafter"
    assert _pairs(text) == [("md", "```python\ninner\n```\n", True)]
    assert _pairs("~~~\nx\n```\n~~~") == [("", "x\n```\n", True)]


def test_a_fence_mark_inside_a_line_is_not_a_fence() -> None:
    assert fenced_blocks("use ```python``` fences please") == []


def test_info_words_are_normalised() -> None:
    assert [info_word(raw) for raw in ("Python", " {python} ", ".py", "c++ main", "")] == [
        "python",
        "python",
        "py",
        "c++",
        "",
    ]


def test_strip_fences_keeps_only_the_named_bodies() -> None:
    text = "before\n```python\nx = 1\n```\nmid\n```cpp\nint y;\n```\nafter"
    assert strip_fences(text) == "before\n\n\nmid\n\n\nafter"
    assert strip_fences(text, keep=("python",)) == "before\nx = 1\n\nmid\n\n\nafter"
