"""RemoteSandbox: the :class:`~sandbox.base.Sandbox` of workers (``python -m sandbox serve``).

The proxy opens it instead of a local ``BubblewrapSandbox`` when ``SSTAR_SANDBOX_URLS`` is set.
Isolation does not change: every program still runs in a worker's bubblewrap sandbox, and the
results are decoded field for field from what that sandbox returned (``service/wire.py``), so
the engine cannot tell the difference. ``run`` sends a batch of one program; ``run_many`` sends
several programs in one round trip (``batch_size`` per batch).

Spreading and faults (``fleet.py``, ``replies.py``): each batch waits for room in the client's
bounded queue, then goes to the least loaded ready worker. Executing a program on its inputs is
idempotent, so a batch that fails on a worker is sent again to another (at most ``attempts``
times in all). A worker that could not be reached, broke the connection mid-batch (a crash, a
restart, a kill), or said 503 or 401 is probed at once (a Kubernetes Service URL may already
lead to another pod) and takes nothing until a probe finds it ready; one that said 5xx, timed
out or answered garbage is paused for a growing backoff; one that said 429 is skipped for its
``Retry-After``. A batch the worker refused as such (400, 413) is ``SandboxCrashedError`` at once.

A batch waits for paused or busy workers no longer than ``queue_timeout_s``, like a caller in
the queue; then, or when its attempts are spent, it raises ``SandboxUnavailableError``.

Readiness: ``open`` checks every worker's ``/ready`` (which also learns how many programs each
runs at once), and a background task checks again every ``check_interval_s``; when no worker is
ready, the ones that are not are probed again before a call gives up. With no worker ready a
call raises ``SandboxUnavailableError`` (fail closed), and ``unavailable_reason()`` says why
for the proxy's ``/ready``. The token is sent as ``Authorization: Bearer`` and never logged; the
HTTP client ignores proxy environment variables, so batches never take a detour.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import httpx
import structlog

from sandbox.base import ExecutionRequest, ExecutionResult
from sandbox.errors import SandboxUnavailableError
from sandbox.fleet import Admission, Fleet, Worker, WorkerView
from sandbox.replies import WorkerFault, batch_results, ready_slots, transport_fault
from sandbox.service.wire import encode_batch

log = structlog.get_logger(__name__)

READY_PATH = "/ready"
EXECUTIONS_PATH = "/v1/executions"
_PER_RUN_OVERHEAD_S = 1.0
"""Added to each run's wall limit when bounding how long a batch may take at a worker."""


class RemoteSandbox:
    """Runs requests on sandbox workers over HTTP; build it with :meth:`open`."""

    def __init__(
        self,
        urls: Sequence[str],
        token: str | None = None,
        *,
        check_interval_s: float = 2.0,
        connect_timeout_s: float = 3.0,
        probe_timeout_s: float = 5.0,
        batch_margin_s: float = 30.0,
        attempts: int | None = None,
        max_waiting: int = 256,
        queue_timeout_s: float = 60.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        batch_size: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``urls``: the workers' base URLs. ``attempts``: how many workers a batch may try
        (default: one more than there are workers, and at least 3). ``max_waiting`` and
        ``queue_timeout_s`` bound the client's queue; ``batch_margin_s`` plus each run's wall
        limit bounds how long a worker may take for a batch. ``transport`` is for tests."""
        bases = [url.strip().rstrip("/") for url in urls if url.strip()]
        if not bases:
            raise ValueError("RemoteSandbox needs at least one worker URL")
        self._fleet = Fleet(bases, backoff_s=backoff_s, max_backoff_s=max_backoff_s)
        self._admission = Admission(
            self._fleet.capacity,
            self._why_unavailable,
            max_waiting=max_waiting,
            timeout_s=queue_timeout_s,
        )
        self._attempts = attempts or max(3, len(bases) + 1)
        self._batch_size = batch_size
        self._queue_timeout_s = queue_timeout_s
        self._check_interval_s = check_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._probe_timeout = httpx.Timeout(probe_timeout_s, connect=connect_timeout_s)
        self._batch_margin_s = batch_margin_s
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            headers=headers,
            transport=transport,
            trust_env=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )
        self._checker: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, urls: Sequence[str], token: str | None = None, **options: Any
    ) -> RemoteSandbox:
        """Check every worker once, then keep checking in the background. Never raises for a
        worker that is down: calls fail closed until one is ready (``unavailable_reason``)."""
        sandbox = cls(urls, token, **options)
        await sandbox.check()
        sandbox._checker = asyncio.create_task(sandbox._check_forever())
        log.info(
            "remote_sandbox_opened",
            workers=len(sandbox._fleet.workers),
            ready=sum(w.ready for w in sandbox._fleet.workers),
        )
        return sandbox

    def workers(self) -> tuple[WorkerView, ...]:
        """What this client knows of each worker now."""
        return tuple(worker.view() for worker in self._fleet.workers)

    def unavailable_reason(self) -> str | None:
        """``None`` while a worker is ready; else why none is (for the proxy's ``/ready``)."""
        return None if self._fleet.capacity() > 0 else self._why_unavailable()

    def _why_unavailable(self) -> str:
        return f"no sandbox worker is ready ({self._fleet.summary()})"

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run the program on every input on one worker; ``SandboxUnavailableError`` if none
        is ready or the queue is full."""
        return (await self.run_many((request,)))[0]

    async def run_many(self, requests: Sequence[ExecutionRequest]) -> tuple[ExecutionResult, ...]:
        """Several programs, ``batch_size`` to a round trip; results in order."""
        for request in requests:
            if request.mode == "function" and not request.entry_point:
                raise ValueError("function mode needs an entry_point")
        work = [r for r in requests if r.inputs]
        chunks = [work[i : i + self._batch_size] for i in range(0, len(work), self._batch_size)]
        tasks = [asyncio.ensure_future(self._execute(chunk)) for chunk in chunks]
        try:
            done = await asyncio.gather(*tasks)
        finally:  # NOTE: one batch failed: the others stop too, nothing runs for nobody
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        results = iter([result for chunk in done for result in chunk])
        # NOTE: a request without inputs runs nothing, as in the local sandbox.
        return tuple(next(results) if r.inputs else ExecutionResult(()) for r in requests)

    async def _execute(self, batch: list[ExecutionRequest]) -> tuple[ExecutionResult, ...]:
        if self._http.is_closed:
            raise SandboxUnavailableError("the remote sandbox is closed")
        if self._fleet.capacity() <= 0:
            await self.check()
        units = await self._admission.acquire(len(batch))
        try:
            return await self._dispatch(batch)
        finally:
            self._admission.release(units)

    async def _dispatch(self, batch: list[ExecutionRequest]) -> tuple[ExecutionResult, ...]:
        body = encode_batch(batch)
        read_s = self._batch_margin_s + sum(
            len(r.inputs) * (r.limits.wall_time_s + _PER_RUN_OVERHEAD_S) for r in batch
        )
        timeout = httpx.Timeout(read_s, connect=self._connect_timeout_s)
        tried: set[str] = set()
        rechecked = False
        failures = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._queue_timeout_s
        while failures < self._attempts:
            worker = self._fleet.pick(tried)
            if worker is None:
                pause = self._fleet.pause_s()
                if pause is not None and loop.time() + pause <= deadline:
                    await asyncio.sleep(pause)
                    continue
                if pause is not None:
                    break  # every ready worker is busy or failing for longer than we may wait
                if rechecked:
                    break
                rechecked = True
                await self.check()
                continue
            tried.add(worker.url)
            try:
                return await self._send(worker, batch, body, timeout)
            except WorkerFault as fault:
                failures += 1
                await self._record(worker, fault, attempt=failures)
        reason = (
            self._why_unavailable()
            if self._fleet.capacity() <= 0
            else "every ready sandbox worker is busy or failing"
        )
        raise SandboxUnavailableError(
            f"the batch failed on {failures} attempt(s): {reason}" if failures else reason
        )

    async def _record(self, worker: Worker, fault: WorkerFault, *, attempt: int) -> None:
        log.warning(
            "sandbox_worker_failed", url=worker.url, fault=fault.kind, reason=fault.reason,
            attempt=attempt,
        )  # fmt: skip
        if fault.kind == "busy":
            self._fleet.busy(worker, fault.retry_after_s)
        elif fault.kind == "failing":
            self._fleet.failed(worker, fault.reason)
        else:
            self._fleet.gone(worker, fault.reason)
            await self._probe(worker)

    async def _send(
        self, worker: Worker, batch: list[ExecutionRequest], body: bytes, limit: httpx.Timeout
    ) -> tuple[ExecutionResult, ...]:
        if self._http.is_closed:
            raise SandboxUnavailableError("the remote sandbox is closed")
        worker.in_flight += len(batch)
        try:
            response = await self._http.post(
                worker.url + EXECUTIONS_PATH,
                content=body,
                headers={"content-type": "application/json"},
                timeout=limit,
            )
        except httpx.TransportError as exc:
            raise transport_fault(exc) from exc
        finally:
            worker.in_flight -= len(batch)
        results = batch_results(worker.url, batch, response)
        self._fleet.served(worker)
        return results

    async def check(self) -> None:
        """Probe every worker's ``/ready`` now (probes in flight are shared)."""
        await asyncio.gather(*(self._probe(worker) for worker in self._fleet.workers))

    async def _probe(self, worker: Worker) -> None:
        if worker.probe is None or worker.probe.done():
            worker.probe = asyncio.ensure_future(self._probe_once(worker))
        await asyncio.shield(worker.probe)

    async def _probe_once(self, worker: Worker) -> None:
        if self._http.is_closed:
            self._fleet.not_ready(worker, "the remote sandbox is closed")
            return
        was_ready = worker.ready
        try:
            response = await self._http.get(worker.url + READY_PATH, timeout=self._probe_timeout)
        except httpx.HTTPError as exc:
            self._fleet.not_ready(worker, f"unreachable ({type(exc).__name__})")
        else:
            answer = ready_slots(response)
            if isinstance(answer, int):
                self._fleet.ready(worker, answer)
            else:
                self._fleet.not_ready(worker, answer)
        if worker.ready != was_ready:
            event = "sandbox_worker_ready" if worker.ready else "sandbox_worker_not_ready"
            log.info(event, url=worker.url, reason=worker.reason, slots=worker.slots)
        self._admission.wake()

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval_s)
            try:
                await self.check()
            except Exception:  # NOTE: keep checking; a probe's own faults are handled inside
                log.exception("sandbox_check_failed")

    async def aclose(self) -> None:
        """Stop checking and close the connections (workers kill what they were running for
        this client when its connections close)."""
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        probes = [w.probe for w in self._fleet.workers if w.probe is not None]
        for probe in probes:
            probe.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
        await self._http.aclose()
