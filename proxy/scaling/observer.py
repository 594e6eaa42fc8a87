"""Watching selection from outside: what each cheaper mode would have answered, and when.

Selection's cheaper modes are steps of the dearer ones (``public`` filters before ``majority``
clusters, before ``adaptive``'s tournament), so one run can also say what ``first``, ``public``
and ``majority`` would have answered from the very same candidates: a paired comparison for
free. Selection only *announces* each step's pick to a :class:`SelectionObserver`; it keeps no
bookkeeping of its own. The caller passes a :class:`PickRecorder` (the server does, so traces
carry ``picks``) or nothing at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from proxy.scaling.types import Pick, SelectionMode


class SelectionObserver(Protocol):
    """Told, as selection goes, which candidate each mode would answer with."""

    def picked(self, selection: SelectionMode, candidate: int) -> None: ...


class IgnorePicks:
    """The observer of a run nobody watches."""

    def picked(self, selection: SelectionMode, candidate: int) -> None:  # noqa: ARG002
        return None


class PickRecorder:
    """Records each announced pick with the milliseconds since the recorder was made."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._picks: list[Pick] = []

    def picked(self, selection: SelectionMode, candidate: int) -> None:
        elapsed_ms = round((self._clock() - self._started) * 1000, 3)
        self._picks.append(Pick(selection, candidate, elapsed_ms))

    @property
    def picks(self) -> tuple[Pick, ...]:
        """Every pick so far, in the order announced (the requested mode's last)."""
        return tuple(self._picks)
