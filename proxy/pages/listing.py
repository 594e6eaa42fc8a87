"""One line of the runs page (and of the JSON listing): what a run was and how it went.

Read from the stored trace as defensively as the run page reads it (``view.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from proxy.pages.view import run_view

_TITLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    url: str  # the run's page (a signed link when the listing was opened with one)
    stored_at: float  # Unix seconds
    title: str  # the problem's first non-empty line, clipped
    model: str
    kind: str
    entry_point: str | None
    selection: str
    selected: int
    candidates: int
    passed_public: int
    tokens: int
    upstream_calls: int
    duration_ms: float
    plan: str
    degraded: int

    @property
    def stored(self) -> str:
        """When the run was stored, in UTC, to the second."""
        return datetime.fromtimestamp(self.stored_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def as_json(self) -> dict[str, object]:
        """The JSON listing's entry (``GET /v1/sstar/runs`` without ``Accept: text/html``)."""
        return {
            "id": self.run_id,
            "object": "sstar.run.summary",
            "created": int(self.stored_at),
            "url": self.url,
            "title": self.title,
            "model": self.model,
            "kind": self.kind,
            "entry_point": self.entry_point,
            "selection": self.selection,
            "selected": self.selected,
            "candidates": self.candidates,
            "passed_public": self.passed_public,
            "total_tokens": self.tokens,
            "upstream_calls": self.upstream_calls,
            "duration_ms": self.duration_ms,
            "plan": self.plan,
            "degraded": self.degraded,
        }


def run_summary(
    run_id: str, trace: Mapping[str, object], *, stored_at: float, url: str
) -> RunSummary:
    view = run_view(trace)
    lines = (line.strip() for line in view.task.problem.splitlines())
    title = next((line for line in lines if line), "(no problem text)")
    if len(title) > _TITLE_CHARS:
        title = title[: _TITLE_CHARS - 1] + "…"
    return RunSummary(
        run_id=run_id,
        url=url,
        stored_at=stored_at,
        title=title,
        model=view.task.model,
        kind=view.task.kind,
        entry_point=view.task.entry_point,
        selection=view.selection,
        selected=view.selected,
        candidates=len(view.candidates),
        passed_public=view.passed_public,
        tokens=view.tokens,
        upstream_calls=view.upstream_calls,
        duration_ms=round(view.total_ms, 1),
        plan=view.plan,
        degraded=len(view.degraded),
    )
