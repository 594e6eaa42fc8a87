"""Python syntax highlighting for the trace pages, on the server (Pygments): no script, no
external stylesheet, so a page works offline and under a ``script-src 'none'`` policy.

The markup uses Pygments' short CSS classes under ``.hl``; ``STYLE_CSS`` holds their rules and
is inlined into each page's ``<style>``.
"""

from __future__ import annotations

import functools

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

_CSS_CLASS = "hl"


@functools.cache
def _formatter() -> HtmlFormatter[str]:
    return HtmlFormatter(cssclass=_CSS_CLASS, style="default", wrapcode=True)


@functools.cache
def style_css() -> str:
    """The colour rules for highlighted code (built once, on first use)."""
    return str(_formatter().get_style_defs(f".{_CSS_CLASS}"))  # type: ignore[no-untyped-call]


def highlight_python(code: str) -> Markup:
    """``code`` as highlighted, escaped HTML (``<div class="hl"><pre>...``)."""
    # NOTE: Pygments escapes the source itself; Markup marks the result safe for Jinja2 only.
    return Markup(highlight(code, PythonLexer(), _formatter()))  # noqa: S704
