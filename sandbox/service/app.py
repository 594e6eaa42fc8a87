"""The worker's HTTP app: ``GET /health``, ``GET /ready``, ``POST /v1/executions``.

- ``/health``: the process serves (200); nothing else is checked, so a liveness probe never
  restarts a worker that is only re-testing its sandbox.
- ``/ready``: 200 with the worker's capacity (``workers``, ``queue``, ``in_flight``) only when
  the sandbox passed its self-test and the worker is not draining; otherwise 503 and why. It
  needs no token (probes), but a request that sends one gets a 401 if it is wrong, so a client
  finds a token mismatch when it checks readiness, not on its first batch.
- ``/v1/executions``: a batch (``wire.py``) with ``Authorization: Bearer <token>``. Refusals, in
  this order, each with the proxy's error envelope: 401 bad token; 503 draining or sandbox not
  ready (``Retry-After``: another worker can take it); 413 body over the cap; 400 malformed or
  beyond the caps, naming the field; 429 with ``Retry-After`` when the programs running and
  waiting would exceed ``workers + queue``. Then every program of the batch runs at once on the
  one sandbox (its pool bounds how many execute), and the results come back in order. A client
  that disconnects cancels its batch, which kills its runs.

Logs never hold a program, an input, an output or the token: one ``batch_completed`` (or
``batch_refused``) event per batch with counts, verdicts and the duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.base import ExecutionRequest, ExecutionResult, Sandbox
from sandbox.errors import SandboxCrashedError, SandboxUnavailableError
from sandbox.service.config import WorkerConfig
from sandbox.service.holder import SandboxHolder
from sandbox.service.wire import InvalidBatchError, decode_batch, encode_results, error_body

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 1
"""``Retry-After`` of a busy or draining worker: the client tries another worker meanwhile."""


@dataclass
class WorkerState:
    """What the app and the server share: the sandbox, the admission count, the drain flag."""

    config: WorkerConfig
    holder: SandboxHolder
    draining: bool = False
    in_flight: int = 0

    def not_ready_reason(self) -> str | None:
        if self.draining:
            return "the worker is draining (shutting down)"
        return self.holder.reason if not self.holder.ready else None


class _Refused(Exception):
    def __init__(self, status: int, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


_TYPES = {400: "invalid_request_error", 401: "authentication_error", 413: "invalid_request_error"}


def _refusal(refused: _Refused) -> Response:
    headers = {"retry-after": str(RETRY_AFTER_S)} if refused.status in (429, 503) else {}
    if refused.status == 401:
        headers["www-authenticate"] = "Bearer"
    body = error_body(
        refused.message,
        error_type=_TYPES.get(refused.status, "server_error"),
        code=refused.code,
        param=refused.param,
    )
    return Response(body, refused.status, headers=headers, media_type="application/json")


def _check_token(request: Request, token: str | None, *, required: bool) -> None:
    presented = request.headers.get("authorization")
    if token is None or (presented is None and not required):
        return
    scheme, _, value = (presented or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), token.encode()):
        raise _Refused(401, "Invalid or missing sandbox token.", code="invalid_token")


async def _health(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Refused(413, f"A batch may hold at most {limit} bytes.", code="batch_too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refused(413, f"A batch may hold at most {limit} bytes.", code="batch_too_large")
    return bytes(body)


async def _until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _run_all(
    sandbox: Sandbox, requests: tuple[ExecutionRequest, ...]
) -> tuple[ExecutionResult, ...]:
    """Every program at once; if one fails, the others are cancelled (their runs killed)."""
    tasks = [asyncio.ensure_future(sandbox.run(r)) for r in requests]
    try:
        return tuple(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _run_batch(
    sandbox: Sandbox, requests: tuple[ExecutionRequest, ...], request: Request
) -> tuple[ExecutionResult, ...] | None:
    """The batch's results; ``None`` if the client left first (its runs are then killed)."""
    work = asyncio.ensure_future(_run_all(sandbox, requests))
    watcher = asyncio.ensure_future(_until_disconnected(request))
    try:
        await asyncio.wait((work, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not work.done():
            work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(work, watcher, return_exceptions=True)
    return None if work.cancelled() else tuple(work.result())


def _summary(results: tuple[ExecutionResult, ...]) -> dict[str, int]:
    return dict(Counter(str(run.status) for result in results for run in result.runs))


class _Endpoints:
    """The routes of one worker, around its shared ``WorkerState``."""

    def __init__(self, state: WorkerState) -> None:
        self.state = state
        self.config = state.config

    def _unready(self) -> _Refused | None:
        reason = self.state.not_ready_reason()
        if reason is None:
            return None
        return _Refused(
            503, reason, code="draining" if self.state.draining else "sandbox_unavailable"
        )

    async def ready(self, request: Request) -> Response:
        try:
            _check_token(request, self.config.token, required=False)
        except _Refused as refused:
            return _refusal(refused)
        unready = self._unready()
        if unready is not None:
            return _refusal(unready)
        capacity = {"workers": self.config.workers, "queue": self.config.queue}
        return JSONResponse({"status": "ready", **capacity, "in_flight": self.state.in_flight})

    async def executions(self, request: Request) -> Response:
        started = time.monotonic()
        try:
            return await self._execute(request, started)
        except _Refused as refused:
            log.info("batch_refused", status=refused.status, code=refused.code, param=refused.param)
            return _refusal(refused)
        except Exception:
            log.exception("batch_failed")
            return _refusal(_Refused(500, "The worker failed; see its log.", code="internal_error"))

    async def _execute(self, request: Request, started: float) -> Response:
        _check_token(request, self.config.token, required=True)
        unready = self._unready()
        if unready is not None:
            raise unready
        body = await _read_body(request, self.config.caps.max_body_bytes)
        try:
            requests = decode_batch(body, self.config.caps)
        except InvalidBatchError as exc:
            raise _Refused(400, exc.message, code="invalid_batch", param=exc.param) from None
        state = self.state
        if state.in_flight and state.in_flight + len(requests) > self.config.capacity:
            raise _Refused(429, "The worker is busy; try another.", code="worker_busy")
        state.in_flight += len(requests)
        try:
            results = await self._run_leased(requests, request)
        finally:
            state.in_flight -= len(requests)
        if results is None:
            log.info("batch_abandoned", programs=len(requests))
            return Response(status_code=499)
        log.info(
            "batch_completed",
            programs=len(requests),
            runs=sum(len(r.inputs) for r in requests),
            verdicts=_summary(results),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return Response(encode_results(results), media_type="application/json")

    async def _run_leased(
        self, requests: tuple[ExecutionRequest, ...], request: Request
    ) -> tuple[ExecutionResult, ...] | None:
        async with self.state.holder.lease() as sandbox:
            if sandbox is None:
                raise self._unready() or _Refused(503, "no sandbox", code="sandbox_unavailable")
            try:
                return await _run_batch(sandbox, requests, request)
            except SandboxUnavailableError as exc:
                self.state.holder.invalidate(sandbox, str(exc))
                raise _Refused(503, str(exc), code="sandbox_unavailable") from None
            except SandboxCrashedError as exc:
                raise _Refused(500, str(exc), code="sandbox_crashed") from None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.state.holder.start()
        try:
            yield
        finally:
            await self.state.holder.aclose()


def build_worker_app(state: WorkerState) -> Starlette:
    """The worker's app around ``state`` (the server drains it; the lifespan opens the sandbox)."""
    endpoints = _Endpoints(state)
    return Starlette(
        routes=[
            Route("/health", _health, methods=["GET"]),
            Route("/ready", endpoints.ready, methods=["GET"]),
            Route("/v1/executions", endpoints.executions, methods=["POST"]),
        ],
        lifespan=endpoints.lifespan,
    )


def bubblewrap_opener(config: WorkerConfig) -> Callable[[], Awaitable[Sandbox]]:
    """Opens the production sandbox for ``config`` (the self-test runs inside ``create``)."""

    async def open_() -> Sandbox:
        from sandbox.bubblewrap import BubblewrapSandbox

        return await BubblewrapSandbox.create(workers=config.workers, bwrap=config.bwrap)

    return open_
