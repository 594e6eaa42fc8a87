"""Every prompt the engine sends, each next to the parser of its reply: one module per stage.

A prompt and its parser are one unit, like a typed signature: ``sampling`` (the format
instruction appended to the client's request), ``debugging`` (the execution-feedback turn),
``inputs`` (initial and distinguishing test inputs, and reading them back), ``judging`` (the
tournament's execution-grounded judge and the code-only judge, and reading their verdicts).

Prompts are code: a change here changes the product's accuracy, so every template is rendered in
``tests/unit/scaling/test_prompts.py``. Templates use ``str.format`` with keyword fields only;
literal braces are doubled. Anything a candidate produced (outputs, errors) passes through
:func:`clip` first: truncated, control characters escaped, so a flood cannot blow up a prompt.
"""

from __future__ import annotations

import re

__all__ = ["clip"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")


def clip(text: str, limit: int = 1000) -> str:
    """``text`` safe for a prompt: control characters escaped, at most ``limit`` characters."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [truncated, {len(text) - limit} more characters]"
