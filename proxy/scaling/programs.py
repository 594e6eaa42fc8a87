"""Programs in a model's answers: find them, put the final one back into the winning message.

(Code inside the *client's prompt* is read by ``proxy.detection.prompt_code``.) Models wrap code
in prose, emit several fenced blocks (a draft, then the fix; a usage example after the solution),
forget the fence, or think aloud in ``<think>`` sections first. The rule: strip reasoning, then
among the closed fenced Python (or unlabelled) blocks prefer the last one that parses and defines
the entry point, else the last one that parses, else the last block; with none, a final block
cut off by the token cap if what is there parses; without fences, the longest run of lines from
the first ``def``/``class``/``import`` that parses. Text with no code yields ``None`` and the
candidate is dropped with the reason. Fences are read by ``proxy.fences``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from proxy.fences import PYTHON_INFOS, Fence, fenced_blocks

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_CODE_START = re.compile(r"^(?:def |class |import |from \S+ import |async def |@)", re.M)
_CODE_HINT = re.compile(r"\b(?:print|input|def|import|return|class|sys)\b")


@dataclass(frozen=True, slots=True)
class Extracted:
    """A program found in a message, and where it sits in the reasoning-free text."""

    program: str
    text: str
    start: int
    end: int
    fenced: bool


def strip_reasoning(text: str) -> str:
    """Remove ``<think>`` sections (and an unclosed reasoning prefix ending in ``</think>``)."""
    text = _THINK.sub("", text)
    closing = re.search(r"</(?:think|thinking|reasoning)>", text, re.IGNORECASE)
    if closing is not None:
        text = text[closing.end() :]
    opening = re.search(r"<(?:think|thinking|reasoning)>", text, re.IGNORECASE)
    if opening is not None:
        text = text[: opening.start()]  # reasoning cut off by the token cap: no answer after it
    return text.strip()


def extract_program(text: str, *, entry_point: str | None = None) -> Extracted | None:
    """The program a model answer carries, or ``None`` when it carries none."""
    clean = strip_reasoning(text)
    python = [b for b in fenced_blocks(clean) if b.info in PYTHON_INFOS]
    blocks = [(b.start, b.end, b.body) for b in python if b.closed]
    if not blocks:
        blocks = _unclosed_fence(python)
    if blocks:
        start, end, body = _choose_block(blocks, entry_point)
        program = body.strip("\n")
        return Extracted(program, clean, start, end, fenced=True) if program.strip() else None
    return _unfenced(clean)


def replace_program(text: str, program: str, *, entry_point: str | None = None) -> str:
    """The model's own message with its program swapped for ``program``.

    Reasoning is dropped (it never belongs in the answer). Without a fenced block to swap, the
    answer is the fenced program alone.
    """
    found = extract_program(text, entry_point=entry_point)
    if found is None or not found.fenced:
        return fence(program)
    return found.text[: found.start] + program.rstrip("\n") + "\n" + found.text[found.end :]


def fence(program: str) -> str:
    """``program`` as a single fenced Python block."""
    return f"```python\n{program.rstrip()}\n```"


def normalise_program(program: str) -> str:
    """Program text with layout noise removed, for deduplicating identical candidates."""
    try:
        return ast.unparse(ast.parse(program))
    except (SyntaxError, ValueError, RecursionError):
        lines = (line.rstrip() for line in program.strip().splitlines())
        return "\n".join(line for line in lines if line)


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def _defines(source: str, entry_point: str | None) -> bool:
    if entry_point is None:
        return True
    name = entry_point.rsplit(".", 1)[-1]
    owner = entry_point.split(".", 1)[0] if "." in entry_point else None
    if owner is not None and not re.search(rf"^\s*class\s+{re.escape(owner)}\b", source, re.M):
        return False
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", source, re.M) is not None


def _choose_block(
    blocks: list[tuple[int, int, str]], entry_point: str | None
) -> tuple[int, int, str]:
    parsing = [b for b in blocks if _parses(b[2])]
    defining = [b for b in parsing if entry_point is not None and _defines(b[2], entry_point)]
    for pool in (defining, parsing, blocks):
        if pool:
            return pool[-1]
    raise AssertionError("unreachable: blocks is non-empty")


def _unclosed_fence(python: list[Fence]) -> list[tuple[int, int, str]]:
    """A final fence the token cap cut off: usable only if what is there parses."""
    last = python[-1] if python else None
    if last is None or last.closed or not last.body.strip() or not _parses(last.body):
        return []
    return [(last.start, last.end, last.body)]


def _unfenced(text: str) -> Extracted | None:
    if _parses(text) and _CODE_HINT.search(text):
        return Extracted(text, text, 0, len(text), fenced=False)
    start = _CODE_START.search(text)
    if start is None:
        return None
    lines = text[start.start() :].splitlines()
    for stop in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:stop]).rstrip()
        if _parses(candidate):
            end = start.start() + len(candidate)
            return Extracted(candidate, text, start.start(), end, fenced=False)
    return None
