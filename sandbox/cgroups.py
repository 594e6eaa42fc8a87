"""Per-session cgroups: the real fork and memory limits, the OOM evidence, and the clean-up.

bubblewrap sets no resource limits, and ``RLIMIT_NPROC`` is not enforced for a root-launched
sandbox (SANDBOX.md §2), so every sandbox session gets its own ``pids`` + ``memory`` cgroup. The
launcher shim writes its own PID into ``cgroup.procs`` before exec'ing bwrap, so every descendant is
inside. A memory-cgroup OOM arrives as SIGKILL, never as ``MemoryError``: the memory verdict comes
only from the ``oom_kill`` counter read here. v1 (``/sys/fs/cgroup/<controller>``) and v2 (one
unified directory, needs a delegated subtree) are both supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import SandboxUnavailableError

CGROUP_ROOT = Path("/sys/fs/cgroup")
_GROUP = "sstar-sandbox"
_REMOVE_TIMEOUT_S = 2.0


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _read_counter(path: Path, key: str) -> int:
    """One counter of a flat-keyed cgroup file (raw ``os`` calls: it is read after every run)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, 1 << 12)
    finally:
        os.close(fd)
    for line in data.decode().splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


@dataclass(frozen=True, slots=True)
class Cgroup:
    """One session's cgroup directories (two under v1, one under v2)."""

    version: int
    pids_dir: Path
    memory_dir: Path

    @property
    def dirs(self) -> tuple[Path, ...]:
        return (
            (self.pids_dir,)
            if self.pids_dir == self.memory_dir
            else (self.pids_dir, self.memory_dir)
        )

    @property
    def procs_files(self) -> tuple[str, ...]:
        """Files the launcher writes its PID into before exec'ing bwrap."""
        return tuple(str(d / "cgroup.procs") for d in self.dirs)

    def set_limits(self, *, memory_bytes: int, pids: int) -> None:
        """Apply the session's memory (no swap) and process-count limits."""
        _write(self.pids_dir / "pids.max", str(pids))
        if self.version == 1:
            _write(self.memory_dir / "memory.limit_in_bytes", str(memory_bytes))
            swap = self.memory_dir / "memory.memsw.limit_in_bytes"
            if swap.exists():
                _write(swap, str(memory_bytes))
        else:
            _write(self.memory_dir / "memory.max", str(memory_bytes))
            with contextlib.suppress(OSError):
                _write(self.memory_dir / "memory.swap.max", "0")

    def oom_kills(self) -> int:
        """How many processes the kernel OOM-killed in this cgroup so far (0 once removed)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            return _read_counter(self.memory_dir / name, "oom_kill")
        except FileNotFoundError:  # removed by a concurrent close(); the run is void anyway
            return 0

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in Path(procs).read_text().split())
        return sorted(found)

    def kill(self) -> None:
        """SIGKILL every process inside (v2: ``cgroup.kill``; v1: each PID listed)."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                _write(self.pids_dir / "cgroup.kill", "1")
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def try_remove(self) -> bool:
        """One clean-up attempt: kill what is inside, remove empty directories; True when gone."""
        self.kill()
        for directory in self.dirs:
            with contextlib.suppress(FileNotFoundError, OSError):
                directory.rmdir()
        return not any(d.exists() for d in self.dirs)

    def remove(self) -> None:
        """Kill until empty, then remove the directories (blocking; start-up and error paths)."""
        deadline = time.monotonic() + _REMOVE_TIMEOUT_S
        while not self.try_remove():
            if time.monotonic() > deadline:
                raise OSError(f"cgroup {self.pids_dir.name} did not empty")
            time.sleep(0.002)

    async def aremove(self) -> None:
        """:meth:`remove` without blocking the event loop while killed processes exit.

        Each attempt runs in a worker thread: removing a memory cgroup that held processes takes
        the kernel about a millisecond per directory, during which the loop would supervise no
        other session's runs.
        """
        deadline = time.monotonic() + _REMOVE_TIMEOUT_S
        while not await asyncio.to_thread(self.try_remove):
            if time.monotonic() > deadline:
                raise OSError(f"cgroup {self.pids_dir.name} did not empty")
            await asyncio.sleep(0.002)


@dataclass(frozen=True, slots=True)
class CgroupDriver:
    """Creates per-session cgroups under one parent group per controller."""

    version: int
    pids_parent: Path
    memory_parent: Path

    def create(self) -> Cgroup:
        name = f"s{os.getpid()}-{secrets.token_hex(6)}"
        pids_dir, memory_dir = self.pids_parent / name, self.memory_parent / name
        pids_dir.mkdir()
        if memory_dir != pids_dir:
            memory_dir.mkdir()
        return Cgroup(self.version, pids_dir, memory_dir)


def detect_driver(root: Path = CGROUP_ROOT) -> CgroupDriver:
    """Find a writable cgroup hierarchy (v2 if mounted unified, else v1) or fail closed."""
    try:
        if (root / "cgroup.controllers").exists():
            return _v2_driver(root)
        return _v1_driver(root)
    except OSError as exc:
        raise SandboxUnavailableError(f"cgroups not usable: {exc}") from exc


def _v1_driver(root: Path) -> CgroupDriver:
    pids, memory = root / "pids" / _GROUP, root / "memory" / _GROUP
    for controller in (pids.parent, memory.parent):
        if not (controller / "cgroup.procs").exists():
            raise SandboxUnavailableError(f"cgroup v1 controller missing: {controller}")
    pids.mkdir(exist_ok=True)
    memory.mkdir(exist_ok=True)
    if not (memory / "memory.oom_control").exists():
        raise SandboxUnavailableError("cgroup v1 memory.oom_control missing")
    return CgroupDriver(1, pids, memory)


def _v2_driver(root: Path) -> CgroupDriver:
    missing = {"pids", "memory"} - set((root / "cgroup.controllers").read_text().split())
    if missing:
        raise SandboxUnavailableError(f"cgroup v2 controllers not delegated: {sorted(missing)}")
    parent = root / _GROUP
    parent.mkdir(exist_ok=True)
    _write(root / "cgroup.subtree_control", "+pids +memory")
    _write(parent / "cgroup.subtree_control", "+pids +memory")
    return CgroupDriver(2, parent, parent)


def remove_stale(driver: CgroupDriver) -> None:
    """Remove session groups left by dead processes of ours (a crashed proxy)."""
    for parent in {driver.pids_parent, driver.memory_parent}:
        for child in parent.iterdir() if parent.exists() else ():
            owner = child.name[1:].partition("-")[0]
            if child.is_dir() and owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    Cgroup(driver.version, child, child).remove()
