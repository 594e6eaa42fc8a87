"""cgroup v1/v2 drivers against a fake hierarchy (real cgroups are exercised in tests/sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import SandboxUnavailableError
from sandbox.cgroups import Cgroup, detect_driver


def _v1_tree(root: Path) -> None:
    for controller in ("pids", "memory"):
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("")
    (root / "memory" / "sstar-sandbox").mkdir()
    (root / "memory" / "sstar-sandbox" / "memory.oom_control").write_text("oom_kill 0\n")


def test_v1_driver_creates_groups_and_reads_counters(tmp_path: Path) -> None:
    _v1_tree(tmp_path)
    driver = detect_driver(tmp_path)
    assert driver.version == 1
    group = driver.create()
    assert group.pids_dir.parent == tmp_path / "pids" / "sstar-sandbox"
    assert group.procs_files == (
        str(group.pids_dir / "cgroup.procs"),
        str(group.memory_dir / "cgroup.procs"),
    )
    group.set_limits(memory_bytes=1 << 20, pids=5)
    assert (group.pids_dir / "pids.max").read_text() == "5"
    assert (group.memory_dir / "memory.limit_in_bytes").read_text() == str(1 << 20)
    (group.memory_dir / "memory.oom_control").write_text("under_oom 0\noom_kill 3\n")
    assert group.oom_kills() == 3
    (group.pids_dir / "cgroup.procs").write_text("")
    assert group.pids() == []


def test_v2_driver_uses_one_directory(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    driver = detect_driver(tmp_path)
    assert driver.version == 2
    assert (tmp_path / "sstar-sandbox" / "cgroup.subtree_control").read_text() == "+pids +memory"
    group = driver.create()
    assert group.dirs == (group.pids_dir,)
    group.set_limits(memory_bytes=1 << 20, pids=5)
    assert (group.memory_dir / "memory.max").read_text() == str(1 << 20)
    assert (group.memory_dir / "memory.swap.max").read_text() == "0"
    (group.memory_dir / "memory.events").write_text("oom 1\noom_kill 1\n")
    assert group.oom_kills() == 1


def test_v2_without_delegated_controllers_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu\n")
    with pytest.raises(SandboxUnavailableError, match="not delegated"):
        detect_driver(tmp_path)


def test_v1_missing_memory_counter_fails_closed(tmp_path: Path) -> None:
    _v1_tree(tmp_path)
    (tmp_path / "memory" / "sstar-sandbox" / "memory.oom_control").unlink()
    with pytest.raises(SandboxUnavailableError, match="oom_control"):
        detect_driver(tmp_path)


def test_removing_a_missing_group_is_a_no_op(tmp_path: Path) -> None:
    Cgroup(1, tmp_path / "gone", tmp_path / "gone-too").remove()
