"""Starting a zygote process: explicit minimal environment, own process group, own cgroup.

Nothing of the proxy's environment, fds or process group is inherited: bwrap is started with
``MINIMAL_ENV`` (bwrap's own processes would otherwise expose the proxy's variables in
``/proc/*/environ``, SANDBOX.md §2), only the listed fds are passed, and the launcher gets its own
process group so the supervisor can kill it as a whole. With a cgroup, a tiny ``sh`` shim writes
its own PID into the session's ``cgroup.procs`` files and only then execs bwrap, so every
descendant is accounted from the first instruction (``preexec_fn`` is unsafe in a threaded
parent).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sandbox.cgroups import Cgroup
from sandbox.errors import SandboxCrashedError

MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
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


async def launch(spec: LaunchSpec) -> tuple[asyncio.subprocess.Process, socket.socket]:
    """Start the zygote; returns the process and our (non-blocking) end of its control socket."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    extra = spec.pass_fds()
    argv = list(spec.argv(theirs.fileno()))
    if spec.cgroup is not None:
        argv = ["/bin/sh", "-c", _SHIM, "sh", *spec.cgroup.procs_files, "--", *argv]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,  # bwrap's own errors: the fail-closed reason
            pass_fds=(theirs.fileno(), *extra),
            env=dict(MINIMAL_ENV),
            cwd=spec.cwd,
            process_group=0,
        )
    except OSError as exc:
        ours.close()
        spec.on_close()
        raise SandboxCrashedError(f"cannot launch sandbox: {exc}") from exc
    finally:
        theirs.close()
        for fd in extra:
            os.close(fd)
    ours.setblocking(False)
    return process, ours
