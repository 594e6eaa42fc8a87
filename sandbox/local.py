"""LocalSandbox: development/CI convenience. It is NOT a security boundary.

It runs the same fork-server harness as the production backend, but as an ordinary subprocess of
the current user: no namespaces, no seccomp, no cgroups. Programs can read every file the proxy
can, reach the network, and see other processes. What it does give: a minimal environment (no
proxy secrets in ``os.environ``), a temporary working directory per session, rlimits (CPU, file
size, open files, address space as the memory limit, so memory overruns surface as
``MemoryError``/``RUNTIME_ERROR`` rather than a cgroup OOM verdict) and the same wall deadlines
and output caps. It is never a silent fallback: it must be chosen explicitly, it logs a warning
when built, and constructing it with ``production=True`` raises ``SandboxUnavailableError``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence

from sandbox.base import ExecutionRequest, ExecutionResult
from sandbox.bubblewrap import harness_source
from sandbox.errors import SandboxUnavailableError
from sandbox.launch import LaunchSpec
from sandbox.pool import SessionPool
from sandbox.session import Session

_log = logging.getLogger(__name__)


class LocalSandbox:
    """Unisolated :class:`~sandbox.base.Sandbox` for development only (see module docstring)."""

    def __init__(
        self,
        *,
        production: bool = False,
        workers: int | None = None,
        python: str = "/usr/bin/python3",
    ) -> None:
        if production:
            raise SandboxUnavailableError(
                "LocalSandbox is not a security boundary and is refused in production"
            )
        self._python = python
        self._harness = harness_source()
        size = workers or max(1, os.cpu_count() or 1)
        self._pool = SessionPool(self._start_session, workers=size, warm=0)
        _log.warning(
            "local_sandbox_enabled: programs run WITHOUT isolation (development only)",
            extra={"workers": size},
        )

    async def _start_session(self) -> Session:
        workdir = tempfile.mkdtemp(prefix="sstar-local-")

        def argv(ctl_fd: int) -> Sequence[str]:
            return [self._python, "-I", "-S", "-c", self._harness, str(ctl_fd), "local"]

        spec = LaunchSpec(
            argv=argv,
            cwd=workdir,
            local_rlimit_as=True,
            on_close=lambda: shutil.rmtree(workdir, ignore_errors=True),
        )
        return await Session.start(spec)

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run the program on every input (unisolated; see the module docstring)."""
        return await self._pool.run(request)

    async def aclose(self) -> None:
        """Kill runs in flight and remove the temporary directories."""
        await self._pool.aclose()
