"""S* runs shared between identical requests (``run_key``), and cancelled when abandoned.

Why sharing: the official OpenAI SDKs resend a request that timed out (twice by default), so
without it one slow S* run would be paid for three times. A request whose dedupe key matches a run
in flight *joins* it. A finished run is different: the same request sent again after its answer
is usually a *regenerate* (the user wants another answer), so a finished run is reused only by a
request that says it is a resend (:class:`Reuse`: an SDK retry, ``x-stainless-retry-count`` >= 1,
or the run's own ``Idempotency-Key``) within ``keep_finished_s``; anything else starts a new run.
A request with an ``Idempotency-Key`` only ever shares runs carrying the same key: the client
said which requests are the same. Why the grace: when the last listener leaves (client
disconnect), the run is cancelled only after ``grace_s``, long enough for the SDK's first retry
(about half a second later) to re-attach. A run keeps its progress events, so a request that
joins late (or after the end) streams the whole story, not only what comes after it joined.

Replicas sharing Redis use ``proxy.cluster.runs.ClusterCoordinator``, which extends this class
through ``open`` (the service's entry point; it may wait for Redis) and ``_start``/``_attach``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from proxy.errors import CapacityError
from proxy.scaling.types import ProgressEvent, ScalingResult


@dataclass(frozen=True, slots=True)
class Reuse:
    """What a request says about itself: whether it resends an earlier one, and its key.

    ``retry``: the client's SDK resends a request it sent before (``x-stainless-retry-count``
    >= 1). ``idempotency_key``: the client's ``Idempotency-Key``; requests with the same key are
    the same request, whatever else they say.
    """

    retry: bool = False
    idempotency_key: str | None = None


RunFactory = Callable[[Callable[[ProgressEvent], None]], Coroutine[Any, Any, ScalingResult]]
"""Starts a run's work, given the callback that publishes its progress to every listener."""

RunStarter = Callable[[str], RunFactory]
"""The run factory for a run id: a replica that takes over another's run keeps the run id the
client was already told (``proxy.cluster.runs``)."""


@dataclass(eq=False)
class SharedRun:
    """One S* run and the requests listening to it."""

    key: str
    run_id: str
    task: asyncio.Task[ScalingResult]
    listeners: set[asyncio.Queue[ProgressEvent]] = field(default_factory=set)
    events: list[ProgressEvent] = field(default_factory=list)
    subscribers: int = 0
    finished_at: float | None = None
    cancel_handle: asyncio.TimerHandle | None = None
    follows: bool = False
    """The work runs on another replica: this run only relays it (``proxy.cluster.runs``)."""

    def publish(self, event: ProgressEvent) -> None:
        self.events.append(event)
        for queue in self.listeners:
            queue.put_nowait(event)


class Subscription:
    """A request's handle on a shared run: await the result, read progress, release when gone."""

    def __init__(self, coordinator: RunCoordinator, run: SharedRun, *, joined: bool) -> None:
        self._coordinator = coordinator
        self.run = run
        self.joined = joined
        self.progress: asyncio.Queue[ProgressEvent] = asyncio.Queue()
        # NOTE: the past first, then the listener: no await in between, so nothing is missed.
        for event in run.events:
            self.progress.put_nowait(event)
        run.listeners.add(self.progress)
        self._released = False

    @property
    def run_id(self) -> str:
        return self.run.run_id

    async def result(self) -> ScalingResult:
        """Wait for the run without letting this request's cancellation cancel the shared run."""
        return await asyncio.shield(self.run.task)

    def release(self) -> None:
        """Stop listening; the last listener to leave an unfinished run starts the grace timer."""
        if self._released:
            return
        self._released = True
        self.run.listeners.discard(self.progress)
        self._coordinator._release(self.run)


class RunCoordinator:
    """Starts S* runs, lets identical requests share them, and cancels abandoned ones."""

    def __init__(
        self,
        *,
        max_active: int,
        grace_s: float = 1.0,
        keep_finished_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_active = max_active
        self._grace_s = grace_s
        self._keep_finished_s = keep_finished_s
        self._clock = clock
        self._runs: dict[str, SharedRun] = {}

    @property
    def active(self) -> int:
        """Runs this process is executing (a run relayed from another replica is not one)."""
        return sum(1 for run in self._runs.values() if not run.task.done() and not run.follows)

    async def open(
        self, key: str, run_id: str, starter: RunStarter, reuse: Reuse | None = None
    ) -> Subscription:
        """``subscribe`` for the service: replicas sharing Redis override it (it may wait)."""
        return self.subscribe(key, run_id, starter(run_id), reuse)

    def subscribe(
        self, key: str, run_id: str, start: RunFactory, reuse: Reuse | None = None
    ) -> Subscription:
        """Join the run for ``key`` if in flight, or finished and ``reuse`` says this request is
        a resend; else start ``start`` as ``run_id`` (see the module docstring).

        Raises ``CapacityError`` when a new run would exceed ``max_active``.
        """
        reuse = reuse or Reuse()
        self._forget_stale()
        key = keyed(key, reuse)
        existing = self._joinable(key, reuse)
        if existing is not None:
            return self._attach(existing, joined=True)
        if self.active >= self._max_active:
            raise self._capacity_error()
        return self._attach(self._start(key, run_id, start), joined=False)

    def _joinable(self, key: str, reuse: Reuse) -> SharedRun | None:
        existing = self._runs.get(key)
        return existing if existing is not None and _joinable(existing, reuse) else None

    def _capacity_error(self) -> CapacityError:
        return CapacityError(
            "Too many S* runs in progress; retry shortly.", retry_after_s=max(1.0, self._grace_s)
        )

    def _start(
        self, key: str, run_id: str, start: RunFactory, *, follows: bool = False
    ) -> SharedRun:
        """Start ``start`` as the run for ``key`` (replacing a run kept there before)."""
        holder: list[SharedRun] = []
        task = asyncio.create_task(start(lambda event: holder[0].publish(event)))
        run = SharedRun(key=key, run_id=run_id, task=task, follows=follows)
        holder.append(run)
        task.add_done_callback(lambda _t: self._finished(run))
        self._runs[key] = run
        return run

    async def aclose(self) -> None:
        """Cancel every run (server shutdown)."""
        tasks = [run.task for run in self._runs.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._runs.clear()

    def _attach(self, run: SharedRun, *, joined: bool) -> Subscription:
        if run.cancel_handle is not None:
            run.cancel_handle.cancel()
            run.cancel_handle = None
        run.subscribers += 1
        return Subscription(self, run, joined=joined)

    def _release(self, run: SharedRun) -> None:
        run.subscribers -= 1
        if run.subscribers > 0 or run.task.done():
            return
        loop = asyncio.get_running_loop()
        run.cancel_handle = loop.call_later(self._grace_s, self._cancel_if_abandoned, run)

    def _cancel_if_abandoned(self, run: SharedRun) -> None:
        run.cancel_handle = None
        if run.subscribers == 0 and not run.task.done():
            run.task.cancel()
            if self._runs.get(run.key) is run:
                del self._runs[run.key]

    def _finished(self, run: SharedRun) -> None:
        run.finished_at = self._clock()
        failed = run.task.cancelled() or run.task.exception() is not None
        # A failed run is not worth sharing with a retry: let it start afresh.
        if failed and self._runs.get(run.key) is run:
            del self._runs[run.key]

    def _forget_stale(self) -> None:
        now = self._clock()
        stale = [
            key
            for key, run in self._runs.items()
            if run.finished_at is not None and now - run.finished_at > self._keep_finished_s
        ]
        for key in stale:
            del self._runs[key]


def keyed(key: str, reuse: Reuse) -> str:
    """The sharing key of a request: a request with an ``Idempotency-Key`` shares only with it."""
    if reuse.idempotency_key is None:
        return key
    # NOTE: hashed, so that a long client header does not become a long-lived key.
    return key + ":" + hashlib.sha256(reuse.idempotency_key.encode()).hexdigest()


def _joinable(run: SharedRun, reuse: Reuse) -> bool:
    """A run in flight is joined by the same request; a finished one only by a resend of it."""
    if run.task.cancelled():
        return False
    if not run.task.done():
        return True
    return reuse.retry or reuse.idempotency_key is not None
