"""Where a result set's files go: reports in the results folder, run data in the cache folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import paths
from bench.paths import ResultSet


def test_reports_and_data_of_a_result_set_go_to_their_own_folders(tmp_path: Path) -> None:
    results = ResultSet("run", reports_dir=tmp_path / "reports", data_dir=tmp_path / "data")
    assert results.report(".md") == tmp_path / "reports" / "run.md"
    assert results.report("-misses.md") == tmp_path / "reports" / "run-misses.md"
    assert results.runs == tmp_path / "data" / "run.json"
    assert results.traces == tmp_path / "data" / "run-traces"
    assert results.data("-plain-programs.json") == tmp_path / "data" / "run-plain-programs.json"


def test_the_data_folder_is_in_the_cache_outside_the_repository(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert paths.default_data_dir() == tmp_path / "sstar-proxy" / "bench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.default_data_dir() == tmp_path / "home" / ".cache" / "sstar-proxy" / "bench"
    assert (paths.REPORTS_DIR / "humaneval-dev-n8-r2.md").is_file()  # the committed reports


def test_the_command_line_names_both_folders(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="n")
    paths.add_dir_arguments(parser)
    results = ResultSet.from_args(parser.parse_args([]))
    assert results == ResultSet(
        "n", paths.REPORTS_DIR, tmp_path / "cache" / "sstar-proxy" / "bench"
    )
    args = parser.parse_args(["--results-dir", "r", "--data-dir", "d", "--name", "x"])
    assert ResultSet.from_args(args, "y") == ResultSet("y", Path("r"), Path("d"))


def test_writable_makes_the_folder_of_a_file_about_to_be_written(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "run.json"
    assert paths.writable(target) == target
    assert target.parent.is_dir()
    assert not target.exists()
