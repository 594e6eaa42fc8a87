"""Progress output for long preparation steps: tqdm bars on a terminal, plain lines otherwise.

Everything goes to stderr so ``prepare`` can print the resulting paths alone on stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Bar(Protocol):
    """The part of a tqdm bar we use."""

    def update(self, n: int = 1) -> object: ...


class _NullBar:
    def update(self, n: int = 1) -> object:
        del n
        return None


def say(message: str, *, enabled: bool = True) -> None:
    """One status line on stderr."""
    if enabled:
        print(f"local-model: {message}", file=sys.stderr, flush=True)  # noqa: T201


@contextmanager
def bar(description: str, total: int | None, *, unit: str, enabled: bool = True) -> Iterator[Bar]:
    """A tqdm bar on stderr (``unit="B"`` scales to MB); a no-op when progress is off."""
    if not enabled:
        yield _NullBar()
        return
    from tqdm import tqdm  # imported lazily: only the CLI and serve startup draw bars

    scale = unit == "B"
    with tqdm(
        total=total,
        desc=f"local-model: {description}",
        unit=unit,
        unit_scale=scale,
        unit_divisor=1024 if scale else 1000,
        file=sys.stderr,
        mininterval=0.5,
        dynamic_ncols=True,
    ) as t:
        yield t
