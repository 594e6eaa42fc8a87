"""The public surface of ``sandbox`` and the parts that need no bubblewrap."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

import pytest

import sandbox
from sandbox import ExecutionRequest, Limits, LocalSandbox, SandboxUnavailableError, Status
from sandbox.cgroups import detect_driver
from sandbox.seccomp import build_filter

PACKAGE = Path(sandbox.__file__).parent


def test_all_is_sorted_and_complete() -> None:
    assert sandbox.__all__ == sorted(sandbox.__all__)
    public = {name for name in vars(sandbox) if not name.startswith("_")}
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.parent.name for p in PACKAGE.glob("*/__init__.py")
    }
    assert public - modules == set(sandbox.__all__)


def test_sandbox_never_imports_proxy() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            assert not any(n.split(".")[0] == "proxy" for n in names), path


def test_local_sandbox_is_refused_in_production() -> None:
    with pytest.raises(SandboxUnavailableError, match="not a security boundary"):
        LocalSandbox(production=True)


async def test_local_sandbox_runs_both_modes() -> None:
    local = LocalSandbox(workers=1)
    try:
        stdin = await local.run(ExecutionRequest("print(input()[::-1])", ("abc", "xy")))
        call = await local.run(
            ExecutionRequest("def f(a):\n    return a * 2\n", ("[4]",), "function", "f")
        )
    finally:
        await local.aclose()
    assert [r.stdout for r in stdin.runs] == ["cba\n", "yx\n"]
    assert call.runs[0].status is Status.OK
    assert call.runs[0].return_json == "8"


def _local_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("sstar-local-*"))


async def test_local_sandbox_enforces_the_wall_deadline_and_cleans_up() -> None:
    before = _local_dirs()
    local = LocalSandbox(workers=1)
    limits = Limits(wall_time_s=0.5, cpu_time_s=5.0, memory_mb=256)
    try:
        result = await local.run(ExecutionRequest("while True: pass", ("", ""), limits=limits))
    finally:
        await local.aclose()
    assert [r.status for r in result.runs] == [Status.TIMEOUT, Status.TIMEOUT]
    assert _local_dirs() <= before


def test_missing_cgroups_fail_closed(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailableError, match="cgroup"):
        detect_driver(tmp_path)


def test_seccomp_filter_builds() -> None:
    assert len(build_filter()) > 64
