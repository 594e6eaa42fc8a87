"""Where a benchmark's output goes: reports in the repository, run data in a cache folder.

A reader of ``bench/README.md`` needs the summary tables and charts, so the reports (``.md``,
``.png``) are committed under ``bench/results/``. The data behind them (the resumable run JSON,
saved traces, replay verdicts, greedy answers, trace archives, the proxy's ``serve.log``) is
bulky, machine-local and made again by rerunning the command, so it stays out of git: it goes
to ``$XDG_CACHE_HOME/sstar-proxy/bench`` (``~/.cache/sstar-proxy/bench`` without it). Every
tool takes ``--results-dir`` (reports) and ``--data-dir`` (data) to put either elsewhere.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from proxy.local_model.paths import default_cache_dir

REPORTS_DIR = Path(__file__).resolve().parent / "results"


def default_data_dir() -> Path:
    """``default_cache_dir() / "bench"`` (read at call time, so ``XDG_CACHE_HOME`` applies)."""
    return default_cache_dir() / "bench"


@dataclass(frozen=True, slots=True)
class ResultSet:
    """The files of one results ``name``: reports in ``reports_dir``, data in ``data_dir``."""

    name: str
    reports_dir: Path
    data_dir: Path

    @classmethod
    def from_args(cls, args: argparse.Namespace, name: str | None = None) -> ResultSet:
        """The set named ``name`` (default ``args.name``) in the folders of the command line."""
        return cls(name or args.name, args.results_dir, args.data_dir)

    def report(self, suffix: str) -> Path:
        """``<reports_dir>/<name><suffix>``: a table (``.md``) or chart (``.png``)."""
        return self.reports_dir / f"{self.name}{suffix}"

    def data(self, suffix: str) -> Path:
        """``<data_dir>/<name><suffix>``: run JSON (``.json``), traces (``-traces``), ..."""
        return self.data_dir / f"{self.name}{suffix}"

    @property
    def runs(self) -> Path:
        """The resumable run JSON."""
        return self.data(".json")

    @property
    def traces(self) -> Path:
        """The folder of saved run traces (``--save-traces``), one subfolder per mode."""
        return self.data("-traces")


def writable(path: Path) -> Path:
    """``path`` once its folder exists: for a report or data file about to be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def add_dir_arguments(parser: argparse.ArgumentParser) -> None:
    """``--results-dir`` and ``--data-dir``, the same in every tool."""
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=REPORTS_DIR,
        help="reports (.md tables, .png charts), committed (default: bench/results)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="run data (run JSON, traces, verdicts), not committed (default: %(default)s, "
        "that is $XDG_CACHE_HOME/sstar-proxy/bench or ~/.cache/sstar-proxy/bench)",
    )
