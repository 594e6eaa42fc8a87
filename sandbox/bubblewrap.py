"""BubblewrapSandbox: the production backend (SANDBOX.md §2).

Each session is ``sh`` (joins the session's cgroups) → ``bwrap`` (new user/pid/net/ipc/uts/mount/
cgroup namespaces, uid/gid 65534, no capabilities, seccomp deny-list, ``/usr`` read-only and a
size-capped tmpfs as the only writable place) → Debian's ``python3 -I -S`` running the warm
fork-server (``harness.py``) as PID 1 of its namespace. bwrap is started with an explicit minimal
environment, never the proxy's: bwrap's own processes otherwise expose it in ``/proc/*/environ``.
Construction runs the fail-closed self-test; if isolation cannot be proven, ``create`` raises
``SandboxUnavailableError`` and nothing ever runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from sandbox.base import ExecutionRequest, ExecutionResult
from sandbox.cgroups import CGROUP_ROOT, CgroupDriver, detect_driver, remove_stale
from sandbox.errors import SandboxCrashedError, SandboxError, SandboxUnavailableError
from sandbox.launch import MINIMAL_ENV, LaunchSpec
from sandbox.pool import SessionPool
from sandbox.seccomp import build_filter, filter_fd
from sandbox.selftest import run_selftest
from sandbox.session import Session

_log = logging.getLogger(__name__)
_SANDBOX_UID = "65534"
DEFAULT_TMPFS_BYTES = 64 << 20
_SHM_BYTES = 16 << 20


_COMPILER = (
    "import binascii,marshal,sys;sys.stdout.write(binascii.b2a_base64(marshal.dumps("
    "compile(sys.stdin.read(),'<harness>','exec')),newline=False).decode())"
)
_LOADER = "import binascii,marshal,sys;exec(marshal.loads(binascii.a2b_base64(sys.argv.pop())))"
_COMPILE_TIMEOUT_S = 30.0


def harness_source() -> str:
    """The fork-server's source (no host file is bound inside the sandbox)."""
    return (Path(__file__).parent / "harness.py").read_text()


async def compiled_harness(python: str) -> str:
    """The fork-server compiled once, by the sandbox's own interpreter, as base64 marshal data.

    Passed on the command line of every session instead of the source: compiling the harness cost
    about as much as the rest of a session's interpreter start, on every session. Marshal data is
    only valid for the interpreter version that wrote it, so ``python`` (the one bwrap runs)
    compiles it, never the proxy's own interpreter. Only our own source is compiled here.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            python, "-I", "-S", "-c", _COMPILER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(MINIMAL_ENV),
        )  # fmt: skip
        async with asyncio.timeout(_COMPILE_TIMEOUT_S):
            out, err = await process.communicate(harness_source().encode())
    except (OSError, TimeoutError) as exc:
        raise SandboxUnavailableError(f"cannot compile the harness with {python}: {exc}") from exc
    if process.returncode != 0 or not out:
        reason = err.decode(errors="replace").strip()[-300:]
        raise SandboxUnavailableError(f"cannot compile the harness with {python}: {reason}")
    return out.decode("ascii")


def bwrap_argv(
    *, bwrap: str, python: str, seccomp_fd: int, tmpfs_bytes: int, harness: str, ctl_fd: int
) -> list[str]:
    """The bubblewrap command line: nothing bound but ``/usr``, read-only; only the two capped
    tmpfs mounts (``/tmp``, the work area, and ``/dev/shm``) are writable. ``harness`` is the
    output of :func:`compiled_harness`; the loader pops it, so the harness sees
    ``argv = ["-c", ctl_fd, "pid1"]``."""
    return [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--uid", _SANDBOX_UID,
        "--gid", _SANDBOX_UID,
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "LANG", "C.UTF-8",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin",
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(_SHM_BYTES),
        "--tmpfs", "/dev/shm",  # noqa: S108 - the sandbox's own, capped
        "--size", str(tmpfs_bytes),
        "--tmpfs", "/tmp",  # noqa: S108 - a private tmpfs inside the sandbox
        "--remount-ro", "/dev",
        "--remount-ro", "/",  # NOTE: bwrap's root tmpfs is otherwise writable and uncapped
        "--chdir", "/tmp",  # noqa: S108
        "--seccomp", str(seccomp_fd),
        "--as-pid-1",
        "--",
        python, "-I", "-S", "-c", _LOADER, str(ctl_fd), "pid1", harness,
    ]  # fmt: skip


class BubblewrapSandbox:
    """Production :class:`~sandbox.base.Sandbox`; build it with :meth:`create`."""

    def __init__(self, pool: SessionPool) -> None:
        self._pool = pool

    @classmethod
    async def create(
        cls,
        *,
        workers: int | None = None,
        python: str = "/usr/bin/python3",
        bwrap: str = "/usr/bin/bwrap",
        tmpfs_bytes: int = DEFAULT_TMPFS_BYTES,
        warm_sessions: int | None = None,
        cgroup_root: Path = CGROUP_ROOT,
    ) -> BubblewrapSandbox:
        """Check every prerequisite, prove isolation with the self-test, and pre-warm sessions.

        Raises ``SandboxUnavailableError`` with the reason if anything is missing or the
        self-test fails (fail closed: no fallback to unisolated execution).
        """
        _require_executable(bwrap, "bubblewrap")
        _require_executable(python, "python")
        driver = detect_driver(cgroup_root)
        remove_stale(driver)
        try:
            program = build_filter()
        except Exception as exc:
            raise SandboxUnavailableError(f"seccomp filter not buildable: {exc}") from exc
        size = workers or max(1, os.cpu_count() or 1)
        harness = await compiled_harness(python)
        factory = _SessionFactory(driver, bwrap, python, program, tmpfs_bytes, harness)
        pool = SessionPool(
            factory, workers=size, warm=size if warm_sessions is None else warm_sessions
        )
        sandbox = cls(pool)
        try:
            await run_selftest(sandbox)
        except SandboxError as exc:
            await pool.aclose()
            raise SandboxUnavailableError(f"sandbox self-test failed: {exc}") from exc
        except BaseException:
            await pool.aclose()
            raise
        pool.prewarm()
        _log.info("sandbox_ready", extra={"workers": size, "backend": "bubblewrap"})
        return sandbox

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run the program on every input, each in a fresh child of a fresh session's zygote."""
        return await self._pool.run(request)

    async def wait_warm(self) -> None:
        """Wait until the pre-started sessions are ready (benchmarks and tests; see the pool)."""
        await self._pool.wait_warm()

    @property
    def warm_ready(self) -> int:
        """How many pre-started sessions could take a request right now."""
        return self._pool.warm_ready

    async def aclose(self) -> None:
        """Kill every run in flight; remove all sessions, cgroups and work directories."""
        await self._pool.aclose()


class _SessionFactory:
    """Starts one isolated session: its own cgroups, seccomp fd and bwrap process."""

    def __init__(
        self,
        driver: CgroupDriver,
        bwrap: str,
        python: str,
        program: bytes,
        tmpfs_bytes: int,
        harness: str,
    ) -> None:
        self._driver = driver
        self._bwrap = bwrap
        self._python = python
        self._program = program
        self._tmpfs_bytes = tmpfs_bytes
        self._harness = harness

    async def __call__(self) -> Session:
        try:
            cgroup = self._driver.create()
        except OSError as exc:
            raise SandboxUnavailableError(f"cannot create a cgroup: {exc}") from exc
        seccomp_fd = filter_fd(self._program)

        def argv(ctl_fd: int) -> Sequence[str]:
            return bwrap_argv(
                bwrap=self._bwrap,
                python=self._python,
                seccomp_fd=seccomp_fd,
                tmpfs_bytes=self._tmpfs_bytes,
                harness=self._harness,
                ctl_fd=ctl_fd,
            )

        spec = LaunchSpec(argv=argv, pass_fds=lambda: (seccomp_fd,), cgroup=cgroup)
        try:
            session = await Session.start(spec)
        except BaseException:
            cgroup.remove()
            raise
        if not cgroup.pids():  # the shim joins before exec'ing bwrap; never run outside it
            await session.close()
            raise SandboxCrashedError("sandbox session is not inside its cgroup")
        return session


def _require_executable(path: str, what: str) -> None:
    resolved = shutil.which(path)
    if resolved is None or not os.access(resolved, os.X_OK):
        raise SandboxUnavailableError(f"{what} not found or not executable: {path}")
