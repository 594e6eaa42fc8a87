"""Response header values the proxy writes itself, made safe to send whatever text went in.

Some of our headers carry text the proxy does not control: ``x-sstar-reason`` may quote an
upstream's error message, ``x-sstar-degraded`` an engine fault. HTTP forbids CR and LF in a value
(a server that sent one would split the header; uvicorn refuses and drops the connection instead,
so the client gets no reply at all), other control characters are invalid, and Starlette encodes
values as latin-1 (anything else raises). So every value goes through :func:`header_value`: one
line of printable ASCII, bounded in length. Every ``x-sstar-*`` header is written through it.
"""

from __future__ import annotations

import re

MAX_HEADER_VALUE = 512
"""Characters; our values are summaries and reasons, never payloads (the trace has the rest)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ELLIPSIS = "..."


def header_value(text: str, limit: int = MAX_HEADER_VALUE) -> str:
    """``text`` as a safe header value: printable ASCII on one line, at most ``limit`` characters.

    Every run of control characters (CR, LF, TAB, NUL, DEL...) becomes one space, every
    non-ASCII character a ``?``, outer whitespace is trimmed (HTTP ignores it), and a value cut
    at ``limit`` ends with ``...`` so a reader knows it was cut.
    """
    value = _NON_ASCII.sub("?", _CONTROL.sub(" ", text)).strip()
    if len(value) <= limit:
        return value
    keep = max(limit - len(_ELLIPSIS), 0)
    return value[:keep].rstrip() + _ELLIPSIS[: limit - keep]
