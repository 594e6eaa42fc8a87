"""The worker's one sandbox, and whether it is ready: the fail-closed self-test, kept true.

The sandbox is opened in the background when the worker starts (``BubblewrapSandbox.create``
runs the isolation self-test), so ``/health`` answers at once while ``/ready`` says 503 until the
test passed. A failed self-test is retried every ``retry_s`` (a delegated cgroup or a seccomp
profile may arrive late) and the reason stays visible in ``/ready`` meanwhile; no batch runs
without a passed self-test. If the sandbox reports itself unavailable while serving (its cgroups
became unwritable, say), the worker stops handing it out, becomes unready, and opens a fresh one,
so the self-test runs again before anything else executes. A broken sandbox is closed once the
batches still holding it are done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

from sandbox.base import Sandbox
from sandbox.errors import SandboxError

log = structlog.get_logger(__name__)

STARTING = "the sandbox self-test has not finished yet"


class SandboxHolder:
    """Opens the sandbox (self-test first), lends it to batches, replaces it when it breaks."""

    def __init__(self, opener: Callable[[], Awaitable[Sandbox]], *, retry_s: float) -> None:
        """``opener`` builds a sandbox or raises ``SandboxError`` with the reason."""
        self._opener = opener
        self._retry_s = retry_s
        self._sandbox: Sandbox | None = None
        self.reason: str | None = STARTING
        self._leases: dict[Sandbox, int] = {}
        self._retired: set[Sandbox] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._opening: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._sandbox is not None

    def start(self) -> None:
        """Open the sandbox in the background (needs a running loop)."""
        if self._opening is None or self._opening.done():
            self._opening = asyncio.create_task(self._open())

    async def _open(self) -> None:
        while True:
            try:
                sandbox = await self._opener()
            except SandboxError as exc:
                self.reason = str(exc) or type(exc).__name__
                log.error("worker_sandbox_unavailable", reason=self.reason, retry_s=self._retry_s)
                await asyncio.sleep(self._retry_s)
                continue
            self._sandbox, self.reason = sandbox, None
            log.info("worker_sandbox_ready")
            return

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Sandbox | None]:
        """The sandbox for one batch (``None`` when not ready); it stays open until released."""
        sandbox = self._sandbox
        if sandbox is None:
            yield None
            return
        self._leases[sandbox] = self._leases.get(sandbox, 0) + 1
        try:
            yield sandbox
        finally:
            self._leases[sandbox] -= 1
            if not self._leases[sandbox]:
                del self._leases[sandbox]
                if sandbox in self._retired:
                    self._close_later(sandbox)

    def invalidate(self, sandbox: Sandbox, reason: str) -> None:
        """``sandbox`` broke while serving: unready until a fresh one passes the self-test."""
        if sandbox is not self._sandbox:
            return
        self._sandbox, self.reason = None, f"the sandbox broke and is re-testing: {reason}"
        log.error("worker_sandbox_broke", reason=reason)
        self._retired.add(sandbox)
        if sandbox not in self._leases:
            self._close_later(sandbox)
        self.start()

    def _close_later(self, sandbox: Sandbox) -> None:
        self._retired.discard(sandbox)
        task = asyncio.create_task(sandbox.aclose())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Stop opening, close every sandbox (running batches are killed)."""
        if self._opening is not None:
            self._opening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._opening
        boxes = {*self._retired, *self._leases}
        if self._sandbox is not None:
            boxes.add(self._sandbox)
        self._sandbox, self.reason = None, "the worker is stopping"
        self._retired.clear()
        await asyncio.gather(*(box.aclose() for box in boxes), *self._tasks)
