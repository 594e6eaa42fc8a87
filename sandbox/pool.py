"""Bounded, pre-warmed execution of requests on sandbox sessions.

One semaphore bounds how many requests execute at once (sized to the machine), so a burst queues
instead of forking hundreds of sandboxes and starving the event loop; every wait is I/O on the
loop. A few sessions are started ahead of time so a request rarely waits for bwrap and the
interpreter. A session serves one request only (never shared across requests, SANDBOX.md §4) and
is replaced as soon as it is taken. A request's last session is killed the moment the request is
done with it (or cancelled); reaping it and removing its cgroup happen in the background, off the
request's latency, and ``aclose`` waits for them; until reaped it holds one of the warm places.
A session starts bare and imports, at load, what its program needs; a pre-started one is told
meanwhile to expect the mode of the latest request (function mode's prelude is most of a
session's imports), so a steady stream of one mode finds its sessions ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine

from sandbox.base import ExecutionRequest, ExecutionResult, Mode, RunResult
from sandbox.errors import SandboxCrashedError, SandboxError, SandboxUnavailableError
from sandbox.session import Session

_log = logging.getLogger(__name__)
_LOAD_ATTEMPTS = 3


class SessionPool:
    """Runs requests on fresh, pre-started sessions with bounded concurrency."""

    def __init__(
        self, factory: Callable[[], Awaitable[Session]], *, workers: int, warm: int
    ) -> None:
        self._factory = factory
        self._slots = asyncio.Semaphore(workers)
        self._warm_target = warm
        self._warm: deque[asyncio.Future[Session]] = deque()
        self._active: set[Session] = set()
        self._background: set[asyncio.Future[None]] = set()
        self._dying = 0  # killed sessions not yet reaped: they count against the warm target
        self._closed = False
        self._expected_mode: Mode = "stdin"  # the latest request's; see _start_expecting

    def prewarm(self) -> None:
        """Start sessions up to the warm target (needs a running loop).

        Sessions still being torn down take warm places until they are gone, so a burst never
        has more sessions alive than running plus warm ones (SANDBOX.md §6, P1); their refill
        starts as each one is reaped.
        """
        while not self._closed and len(self._warm) + self._dying < self._warm_target:
            self._warm.append(asyncio.ensure_future(self._start_expecting()))

    async def _start_expecting(self) -> Session:
        """Start a session and, once it is up, tell it the mode the next request will likely be."""
        session = await self._factory()
        if self._expected_mode != "stdin":  # a stdin session needs nothing before its program
            try:
                await session.expect(self._expected_mode)
            except BaseException:
                await asyncio.shield(session.close())
                raise
        return session

    async def wait_warm(self) -> None:
        """Wait until every warm place holds a started, prepared session (or a failed one).

        For benchmarks and tests that measure what a request pays when the pool has had time to
        refill; requests themselves never wait for this.
        """
        while not self._closed:
            starting = [p for p in self._warm if not p.done()]
            closing = list(self._background)  # a session being torn down refills once reaped
            if starting:
                await asyncio.gather(*map(asyncio.shield, starting), return_exceptions=True)
            elif closing:
                await asyncio.gather(*map(asyncio.shield, closing), return_exceptions=True)
            else:
                return

    @property
    def warm_ready(self) -> int:
        """How many pre-started sessions are ready to take a request now."""
        return sum(1 for p in self._warm if p.done() and not p.cancelled() and not p.exception())

    async def _acquire(self) -> Session:
        if self._closed:
            raise SandboxUnavailableError("sandbox is closed")
        while self._warm:
            pending = self._warm.popleft()
            self.prewarm()
            try:
                session = await asyncio.shield(pending)
            except asyncio.CancelledError:
                pending.add_done_callback(self._discard)
                raise
            except SandboxError as exc:
                _log.warning("sandbox_session_failed", extra={"reason": str(exc)})
                continue
            return await self._track(session)
        return await self._track(await self._factory())

    async def _track(self, session: Session) -> Session:
        if self._closed:
            await session.close()
            raise SandboxUnavailableError("sandbox is closed")
        self._active.add(session)
        return session

    def _discard(self, pending: asyncio.Future[Session]) -> None:
        """Close a started session nobody will use (its requester was cancelled)."""
        if pending.cancelled() or pending.exception() is not None:
            return
        self._spawn(pending.result().close())

    def _spawn(self, job: Coroutine[object, object, None]) -> None:
        """Run clean-up in the background; ``aclose`` waits for it, failures are logged."""
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Future[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("sandbox_session_close_failed", extra={"reason": str(task.exception())})

    async def _release(self, session: Session) -> None:
        """Close a session in the middle of a request (it failed or may not be reused)."""
        self._active.discard(session)
        await session.close()

    def _retire(self, session: Session) -> None:
        """End a request's last session: kill it now, reap it in the background.

        The kill is immediate (process group and cgroup), so nothing of it runs on; only the
        wait for the kernel to tear it down leaves the request's latency and its worker slot.
        """
        session.kill()
        self._dying += 1
        self._spawn(self._close_then_refill(session))

    async def _close_then_refill(self, session: Session) -> None:
        try:
            await session.close()
        finally:
            self._active.discard(session)
            self._dying -= 1
            self.prewarm()

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run every input of ``request`` in order, on as few sessions as the runs allow."""
        if request.mode == "function" and not request.entry_point:
            raise ValueError("function mode needs an entry_point")
        inputs = [text.encode(errors="replace") for text in request.inputs]
        results: list[RunResult] = []
        ahead = True
        failed_loads = 0
        self._expected_mode = request.mode
        async with self._slots:
            session: Session | None = None
            try:
                # NOTE: ends: every serve on a fresh session records at least one result, except
                # an ambiguous OOM, after which runs are no longer queued ahead (no ambiguity),
                # and a failed load, which is tried on at most _LOAD_ATTEMPTS sessions in a row
                while len(results) < len(inputs):
                    fresh = session is None
                    if session is None:
                        session = await self._acquire()
                    try:
                        if fresh:  # acknowledged in serve, behind which the first runs wait
                            session.load(
                                request.program, request.mode, request.entry_point, request.limits
                            )
                        served = await session.serve(
                            inputs[len(results) :], request.limits, ahead=ahead
                        )
                    except SandboxCrashedError:  # e.g. a warm session that died meanwhile
                        await self._release(session)
                        session = None
                        failed_loads += 1
                        if failed_loads == _LOAD_ATTEMPTS:
                            raise
                        continue
                    failed_loads = 0
                    results.extend(served.results)
                    ahead = ahead and not served.repeat_alone
                    if not served.usable:
                        await self._release(session)
                        session = None
            finally:
                if session is not None:
                    self._retire(session)
        return ExecutionResult(tuple(results))

    async def aclose(self) -> None:
        """Kill running sessions, close warm ones, and wait until nothing is left."""
        self._closed = True
        for session in list(self._active):
            session.kill()
        warm, self._warm = list(self._warm), deque()
        for pending in warm:
            with contextlib.suppress(SandboxError):
                await (await pending).close()
        await asyncio.gather(*(s.close() for s in list(self._active)), return_exceptions=True)
        self._active.clear()
        await asyncio.gather(*self._background, return_exceptions=True)
