"""Fixtures for the real bubblewrap sandbox, with the host invariants of SANDBOX.md §6 checked.

Every test using ``sandbox`` gets a fresh ``BubblewrapSandbox`` and, after it is closed, these
checks: the event loop never stalled, no process of ours is left, no session cgroup is left, no new
files appeared in the host's ``/tmp`` or the repository, and no planted secret (an API key in the
parent's environment, a key file on the host) appears in any result the test collected.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox import BubblewrapSandbox, ExecutionRequest, Limits, RunResult
from sandbox.cgroups import CGROUP_ROOT

FAKE_KEY = "sk-FAKE-0123456789abcdefSECRET"
FAKE_FILE_SECRET = "FILE-SECRET-9f8e7d6c5b4a"  # noqa: S105 - planted, fake
REPO = Path(__file__).resolve().parents[2]
SHORT = Limits(wall_time_s=1.0, cpu_time_s=1.0, memory_mb=128)
_MAX_LOOP_STALL_S = 0.5


def descendants(root: int) -> set[int]:
    """PIDs of every live process below ``root`` (from /proc, no psutil)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def session_cgroups() -> set[Path]:
    """This test process's session cgroups (other processes may use the sandbox concurrently)."""
    groups: set[Path] = set()
    for controller in ("pids", "memory"):
        parent = CGROUP_ROOT / controller / "sstar-sandbox"
        if parent.exists():
            groups |= set(parent.glob(f"s{os.getpid()}-*"))
    return groups


def _host_files() -> set[str]:
    """Host places a program could try to write, filtered to the names every attack program uses
    for its files (``*attack*``): other work on this machine creates unrelated files meanwhile."""
    places = [Path("/tmp"), REPO, Path("/etc"), Path("/usr/bin"), Path("/dev/shm"), Path.home()]
    return {str(path) for place in places for path in place.iterdir() if "attack" in path.name}


@dataclass
class Host:
    """What a test saw, for the invariant checks at teardown."""

    secret_file: Path
    results: list[RunResult] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)

    def keep(self, runs: tuple[RunResult, ...]) -> tuple[RunResult, ...]:
        self.results.extend(runs)
        return runs


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    """Plant a fake key in this (the parent's) environment and a fake secret file on the host."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    secret = tmp_path / "api_key.txt"
    secret.write_text(FAKE_FILE_SECRET)
    return Host(secret)


async def _heartbeat(host: Host) -> None:
    last = time.monotonic()
    while True:
        await asyncio.sleep(0.01)
        now = time.monotonic()
        host.stalls.append(now - last)
        last = now


@pytest.fixture
async def sandbox(host: Host) -> AsyncIterator[BubblewrapSandbox]:
    files_before = _host_files()
    processes_before = descendants(os.getpid())
    box = await BubblewrapSandbox.create(workers=2)
    beat = asyncio.create_task(_heartbeat(host))
    try:
        yield box
    finally:
        beat.cancel()
        await box.aclose()
    assert descendants(os.getpid()) <= processes_before, "processes left behind"
    assert not session_cgroups(), "cgroups left behind"
    assert _host_files() <= files_before, "new host files"
    assert max(host.stalls, default=0.0) < _MAX_LOOP_STALL_S, "event loop stalled"
    for run in host.results:
        for text in (run.stdout, run.stderr, run.return_json or "", run.error or ""):
            assert FAKE_KEY not in text
            assert FAKE_FILE_SECRET not in text


async def run_one(
    box: BubblewrapSandbox, host: Host, program: str, stdin: str = "", limits: Limits = SHORT
) -> RunResult:
    """Run a stdin-mode program once, recording the result for the secret checks."""
    result = await box.run(ExecutionRequest(program, (stdin,), limits=limits))
    return host.keep(result.runs)[0]
