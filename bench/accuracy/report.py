"""Per-mode summary of benchmark records, as a markdown table and a PNG chart.

pass@1 is the share of tasks whose answer passed the hidden tests; oracle pass@N the share where
*any* candidate in the run trace did (for ``plain``, the answer itself): the gap between the two is
what selection leaves on the table. Erred attempts count as failures and are listed separately,
as are forced S* requests that the proxy answered without S* (``x-sstar-applied: false``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.accuracy.store import Record


@dataclass(frozen=True, slots=True)
class ModeSummary:
    """One row of the table: a suite in one mode."""

    suite: str
    mode: str
    problems: int
    pass_at_1: float
    oracle_pass: float
    mean_tokens: float
    mean_wall_s: float
    errors: int
    fallbacks: int = 0
    runs_with_stages: int = 0  # S* runs whose trace says which stages finished as planned
    stage_completion: tuple[tuple[str, float], ...] = ()  # stage -> % of those runs
    all_stages_completed: float = 0.0  # % of those runs with no stage cut short
    early_stops: int = 0


def summarize(records: Sequence[Record], modes: Sequence[str]) -> list[ModeSummary]:
    """Rows per suite (in first-seen order), modes in the order given; empty pairs are skipped."""
    suites = list(dict.fromkeys(r.suite for r in records))
    rows = []
    for suite in suites:
        for mode in modes:
            group = [r for r in records if r.suite == suite and r.mode == mode]
            if not group:
                continue
            n = len(group)
            staged = [r.stages for r in group if r.stages]
            stage_names = list(dict.fromkeys(s for stages in staged for s in stages))
            rows.append(
                ModeSummary(
                    suite=suite,
                    mode=mode,
                    problems=n,
                    pass_at_1=100.0 * sum(r.passed for r in group) / n,
                    oracle_pass=100.0 * sum(r.oracle_passed for r in group) / n,
                    mean_tokens=sum(r.tokens for r in group) / n,
                    mean_wall_s=sum(r.wall_s for r in group) / n,
                    errors=sum(r.error is not None for r in group),
                    fallbacks=sum(r.applied is False for r in group if r.mode != "plain"),
                    runs_with_stages=len(staged),
                    stage_completion=tuple(
                        (name, 100.0 * sum(s.get(name, True) for s in staged) / len(staged))
                        for name in stage_names
                    ),
                    all_stages_completed=(
                        100.0 * sum(all(s.values()) for s in staged) / len(staged) if staged else 0
                    ),
                    early_stops=sum(r.early_stop for r in group),
                )
            )
    return rows


def render_markdown(
    rows: Sequence[ModeSummary], *, title: str, derived: Mapping[str, str] | None = None
) -> str:
    """A markdown table of ``rows`` under a heading line; ``derived`` maps a mode read from
    another mode's runs (paired) to that mode, and is explained under the table."""
    out = [
        f"### {title}",
        "",
        "| suite | mode | problems | pass@1 (%) | oracle pass@N (%) | mean tokens | mean wall (s) "
        "| errors | S* not applied |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r.suite} | {r.mode} | {r.problems} | {r.pass_at_1:.1f} | {r.oracle_pass:.1f} "
            f"| {r.mean_tokens:.0f} | {r.mean_wall_s:.1f} | {r.errors} | {r.fallbacks} |"
        )
    staged = [r for r in rows if r.runs_with_stages]
    if staged:
        out += [
            "",
            "Stages finished as planned (S* runs; a stage is cut short when the deadline or "
            "a fault stops it before what the run's plan gave it):",
            "",
            "| suite | mode | runs | every stage | per stage | early stops |",
            "|---|---|---:|---:|---|---:|",
        ]
        for r in staged:
            per_stage = ", ".join(f"{name} {pct:.0f} %" for name, pct in r.stage_completion)
            out.append(
                f"| {r.suite} | {r.mode} | {r.runs_with_stages} | {r.all_stages_completed:.0f} % "
                f"| {per_stage} | {r.early_stops} |"
            )
    by_source: dict[str, list[str]] = {}
    for mode, source in (derived or {}).items():
        by_source.setdefault(source, []).append(f"`{mode}`")
    for source, names in by_source.items():
        out.append(
            f"\n{' and '.join(names)}: read from the `{source}` runs' traces, i.e. the candidate "
            "that selection picks from the same candidates; tokens count only the calls that mode "
            "makes, wall time is when its pick was known."
        )
    return "\n".join(out) + "\n"


def derived_modes(records: Sequence[Record]) -> dict[str, str]:
    """Modes whose records were read from another mode's runs, with that mode."""
    return {r.mode: r.derived_from for r in records if r.derived_from is not None}


def render_problem_matrix(records: Sequence[Record], modes: Sequence[str]) -> str:
    """Per problem and mode: ``pass``, ``fail``, ``fail*`` (a candidate passed: selection missed
    it) or ``error``; the rows where modes disagree are where to read the traces."""
    cells = {(r.suite, r.task_id, r.mode): r for r in records}
    problems = list(dict.fromkeys((r.suite, r.task_id) for r in records))
    out = ["| problem | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for suite, task_id in problems:
        row = [_cell(cells.get((suite, task_id, mode))) for mode in modes]
        out.append(f"| {task_id} | " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


def _cell(record: Record | None) -> str:
    if record is None:
        return ""
    if record.error is not None:
        return "error"
    if record.passed:
        return "pass"
    return "fail*" if record.oracle_passed else "fail"


def write_chart(rows: Sequence[ModeSummary], path: Path, *, title: str) -> None:
    """Grouped bars (pass@1 and oracle pass@N per mode), one panel per suite, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # NOTE: headless machines have no display
    import matplotlib.pyplot as plt

    suites = list(dict.fromkeys(r.suite for r in rows)) or ["(no results)"]
    fig, axes = plt.subplots(1, len(suites), figsize=(5.5 * len(suites), 4.6), squeeze=False)
    for ax, suite in zip(axes[0], suites, strict=True):
        group = [r for r in rows if r.suite == suite]
        xs = list(range(len(group)))
        ax.bar([x - 0.2 for x in xs], [r.pass_at_1 for r in group], 0.4, label="pass@1")
        ax.bar([x + 0.2 for x in xs], [r.oracle_pass for r in group], 0.4, label="oracle pass@N")
        for x, r in zip(xs, group, strict=True):
            ax.text(x - 0.2, r.pass_at_1 + 1, f"{r.pass_at_1:.0f}", ha="center", fontsize=8)
            ax.text(x + 0.2, r.oracle_pass + 1, f"{r.oracle_pass:.0f}", ha="center", fontsize=8)
        ax.set_xticks(xs, [r.mode for r in group])
        ax.set_ylim(0, 108)
        n = max((r.problems for r in group), default=0)
        ax.set_title(f"{suite} ({n} problems)")
        ax.set_ylabel("% of problems solved")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
