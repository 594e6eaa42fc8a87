"""The detector's regular-expression helper: case-insensitive patterns that stay fast.

CPython's ``re.IGNORECASE`` disables the literal-prefix scan, so word alternations ran at about
3 µs per character (100 ms on a 30k-character prompt). Lower-casing the text once and matching
a lower-cased pattern is about 50 times faster; every fingerprint table and prose rule of the
detector is compiled with :func:`caseless`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Caseless", "caseless"]


@dataclass(frozen=True, slots=True)
class Caseless:
    """A case-insensitive pattern that searches the lower-cased text.

    Only truthiness is used by callers: positions refer to the lower-cased text.
    """

    pattern: re.Pattern[str]

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text.lower())

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.match(text.lower())


def caseless(source: str, flags: int = 0) -> Caseless:
    """Compile ``source`` for lower-cased text: literal letters lowered, escapes (``\\W``) kept."""
    lowered = re.sub(
        r"\\.|[A-Z]", lambda m: m.group(0) if len(m.group(0)) == 2 else m.group(0).lower(), source
    )
    return Caseless(re.compile(lowered, flags))
