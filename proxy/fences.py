"""Markdown code fences: the one parser for every place that reads fenced blocks.

Three readers need fences: the detector (code inside a prompt: starter stubs, given code, the
target language), the engine (the program in a model's answer) and input synthesis (the JSON a
model returns). They share one reading of CommonMark's fenced code blocks: an opening line of
three or more backticks or tildes (indented or not), an info string whose first word names the
language, and a closing line of the same character, at least as long, with nothing else on it.
A fence that is never closed runs to the end of the text (a reply cut off by the token cap) and
says so in ``closed``; each reader decides what an unclosed block is worth to it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["PYTHON_INFOS", "Fence", "fenced_blocks", "info_word", "strip_fences"]

PYTHON_INFOS = frozenset({"", "python", "py", "python3", "py3"})
"""Info words of blocks read as Python (an unlabelled block counts: models often omit it)."""

_OPENING = re.compile(r"^[ \t]*(`{3,}|~{3,})([^\n]*)\n", re.M)


@dataclass(frozen=True, slots=True)
class Fence:
    """One fenced block: its info word, its body, and where body and block sit in the text.

    ``start``/``end`` delimit the body; ``outer_start``/``outer_end`` the whole block from the
    opening line's first character to the closing line's last (the text's end when unclosed).
    """

    info: str
    body: str
    start: int
    end: int
    outer_start: int
    outer_end: int
    closed: bool


def info_word(raw: str) -> str:
    """The language word of an info string, lower-cased: ``python``, ``cpp``, ``""``."""
    word = raw.strip().split(" ")[0].split(":")[0].lower()
    return word.removeprefix("{").removesuffix("}").removeprefix(".")


def _closing(marker: str) -> re.Pattern[str]:
    return re.compile(rf"^[ \t]*{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$", re.M)


def fenced_blocks(text: str) -> list[Fence]:
    """Every fenced block of ``text`` in order; the last may be unclosed (``closed=False``)."""
    blocks: list[Fence] = []
    position = 0
    while (opening := _OPENING.search(text, position)) is not None:
        marker, info = opening.group(1), opening.group(2)
        if marker[0] == "`" and "`" in info:
            position = opening.end()  # NOTE: CommonMark: a backtick fence's info has no backtick
            continue
        body_start = opening.end()
        found = _closing(marker).search(text, body_start)
        if found is None:
            body = text[body_start:]
            blocks.append(
                Fence(
                    info_word(info), body, body_start, len(text), opening.start(), len(text), False
                )
            )
            break
        body = text[body_start : found.start()]
        blocks.append(
            Fence(
                info_word(info), body, body_start, found.start(), opening.start(), found.end(), True
            )
        )
        position = found.end()
    return blocks


def strip_fences(text: str, keep: Collection[str] = ()) -> str:
    """``text`` with every fenced block replaced by a line break, except blocks whose info word
    is in ``keep``: those are replaced by their body (the fence lines go)."""
    out: list[str] = []
    position = 0
    for block in fenced_blocks(text):
        out.append(text[position : block.outer_start])
        out.append(block.body if block.info in keep else "\n")
        position = block.outer_end
    out.append(text[position:])
    return "".join(out)
