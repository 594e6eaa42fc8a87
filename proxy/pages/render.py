"""Rendering the trace pages with Jinja2 (templates in ``proxy/pages/templates``).

Autoescaping is on for everything: a trace is full of text the proxy did not write (the prompt,
the model's programs, their outputs), and each piece of it reaches the page escaped. The only
markup that is not escaped is Pygments' (``highlight.py``), which escapes the code itself.
The environment is built on first use, not at import.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined

from proxy.pages.highlight import highlight_python, style_css
from proxy.pages.listing import RunSummary
from proxy.pages.view import RunView


@functools.cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("proxy.pages", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["python"] = highlight_python
    environment.filters["ms"] = _ms
    return environment


def render_run_page(view: RunView, *, runs_url: str | None) -> str:
    """The page of one run; ``runs_url`` links the owner's runs page (``None``: no link)."""
    template = _environment().get_template("run.html")
    return template.render(run=view, runs_url=runs_url, code_css=style_css())


def render_runs_page(runs: Sequence[RunSummary]) -> str:
    """The page listing recent runs, newest first."""
    template = _environment().get_template("runs.html")
    return template.render(runs=runs, code_css=style_css())


def _ms(value: float) -> str:
    """A duration as people read it: ``850 ms``, ``12.4 s``."""
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"
