"""Starting a zygote process: explicit minimal environment, own process group, own cgroup.

Nothing of the proxy's environment, fds or process group is inherited: bwrap is started with
``MINIMAL_ENV`` (bwrap's own processes would otherwise expose the proxy's variables in
``/proc/*/environ``, SANDBOX.md §2), only the listed fds are passed, and the launcher gets its own
process group so the supervisor can kill it as a whole. With a cgroup, a tiny ``sh`` shim writes
its own PID into the session's ``cgroup.procs`` files and only then execs bwrap, so every
descendant is accounted from the first instruction (``preexec_fn`` is unsafe in a threaded
parent).

The process is started with ``subprocess.Popen`` (the same vfork and fd handling asyncio uses) and
its exit is awaited through a pidfd on the event loop, not through asyncio's subprocess layer: on
Python 3.11 that starts a thread per child to wait for it, and the loop blocks until the thread
runs, a millisecond or more of every session start during which no other session is supervised.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sandbox.cgroups import Cgroup
from sandbox.errors import SandboxCrashedError
from sandbox.pipes import CappedReader

MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
_ERRORS_CAP = 64 << 10
_SHIM = (
    'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; exec "$@"'
)


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """How to start a zygote: ``argv(ctl_fd)`` plus the fds, cwd and cgroup it needs."""

    argv: Callable[[int], Sequence[str]]
    pass_fds: Callable[[], tuple[int, ...]] = tuple
    cwd: str | None = None
    cgroup: Cgroup | None = None
    memory_headroom_bytes: int = 48 << 20
    local_rlimit_as: bool = False
    on_close: Callable[[], None] = field(default=lambda: None)


class Launched:
    """A started launcher: its pid, its exit (awaited through a pidfd) and its error output."""

    def __init__(self, popen: subprocess.Popen[bytes], errors_fd: int) -> None:
        self._popen = popen
        self.pid = popen.pid
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[None] = self._loop.create_future()
        self._pidfd = os.pidfd_open(popen.pid)
        self._loop.add_reader(self._pidfd, self._reap)
        # NOTE: drained from the start, as a pipe must be (bwrap's own errors, the zygote's crash)
        self._errors = CappedReader(errors_fd, _ERRORS_CAP, self._loop)

    def _reap(self) -> None:
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._popen.wait()  # exited: the pidfd is readable only then, so this does not block
        self._exited.set_result(None)

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        """Its exit status (negative: the signal), once it has exited and is reaped."""
        await asyncio.shield(self._exited)
        return self._popen.returncode

    @property
    def error_tail(self) -> str:
        """The end of its error output read so far (all it wrote, once released after its exit)."""
        return self._errors.data.decode(errors="replace").strip()[-500:]

    def release(self) -> None:
        """Read what its error output still holds, then stop reading it (the session is gone)."""
        self._errors.read_available()
        self._errors.close()


def launch(spec: LaunchSpec) -> tuple[Launched, socket.socket]:
    """Start the zygote; returns the process and our (non-blocking) end of its control socket."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    errors_read, errors_write = os.pipe2(os.O_CLOEXEC)
    extra = spec.pass_fds()
    argv = list(spec.argv(theirs.fileno()))
    if spec.cgroup is not None:
        argv = ["/bin/sh", "-c", _SHIM, "sh", *spec.cgroup.procs_files, "--", *argv]
    try:
        popen = subprocess.Popen(  # noqa: S603 - our argv (the shim, bwrap, the harness)
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors_write,  # bwrap's own errors: the fail-closed reason
            pass_fds=(theirs.fileno(), *extra),
            env=dict(MINIMAL_ENV),
            cwd=spec.cwd,
            process_group=0,
        )
    except OSError as exc:
        ours.close()
        os.close(errors_read)
        spec.on_close()
        raise SandboxCrashedError(f"cannot launch sandbox: {exc}") from exc
    finally:
        theirs.close()
        os.close(errors_write)
        for fd in extra:
            os.close(fd)
    ours.setblocking(False)
    try:
        return Launched(popen, errors_read), ours
    except OSError as exc:  # no pidfd_open (Linux before 5.3): fail closed, leave nothing behind
        os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
        ours.close()
        os.close(errors_read)
        spec.on_close()
        raise SandboxCrashedError(f"cannot watch the sandbox process: {exc}") from exc
