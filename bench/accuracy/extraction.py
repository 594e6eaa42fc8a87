"""From an assistant answer to the program that gets graded.

Written from the client's side, independent of the proxy's own extraction, so that the benchmark
grades answers the way a user would use them: take the fenced Python code. Small models add
"example usage" blocks or repeat the stub, hence the choice rules below.
"""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
_OPEN_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n", re.M)
_THINK = re.compile(r"<think>.*?</think>", re.S)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", ""})


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def defines(source: str, entry_point: str) -> bool:
    """Whether ``source`` has a ``def entry_point(`` line (at any indentation)."""
    return (
        re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", source, re.M)
        is not None
    )


def _blocks(text: str) -> list[tuple[str, str]]:
    blocks = [(tag.lower(), body) for tag, body in _FENCE.findall(text)]
    if blocks:
        return blocks
    opened = list(_OPEN_FENCE.finditer(text))
    if opened:  # an answer cut off by max_tokens: its last fence never closes
        last = opened[-1]
        return [(last.group(1).lower(), text[last.end() :])]
    return []


def extract_program(answer: str, *, entry_point: str | None = None) -> str:
    """The program in ``answer``: the best fenced Python block, or the whole text if unfenced.

    Preference: Python-tagged (or untagged) blocks; among them, for function tasks, the last that
    defines ``entry_point``; otherwise the longest block that parses, else the longest block.
    """
    text = _THINK.sub("", answer)
    blocks = _blocks(text)
    if not blocks:
        return text.strip() + "\n" if text.strip() else ""
    python = [body for tag, body in blocks if tag in _PYTHON_TAGS] or [body for _, body in blocks]
    if entry_point is not None:
        defining = [body for body in python if defines(body, entry_point)]
        if defining:
            return defining[-1]
    parsing = [body for body in python if _parses(body)]
    return max(parsing or python, key=len)
