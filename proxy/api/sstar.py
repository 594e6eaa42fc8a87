"""``SStarService``: answer a request with S*, sharing identical runs, storing their traces.

``ChatService`` decides *whether* S* applies and ``proxy.tasking`` builds the task and its
parameters; this service joins or starts the shared run (``proxy.runs``), records what each
cheaper selection mode would have picked (for the trace), and answers as a ``chat.completion``
or an SSE stream (``answer.py``). A finished run is reused only by a resend of its request
(``resend_of``: an SDK retry or the same ``Idempotency-Key``); any other request starts a new run,
and a new run without a client seed draws a random one, so that a regenerate samples anew (a
client ``seed`` is kept: it asks for the same answer again). Run ids and completion ids are
independent random values (128 bits each): only ``x-sstar-run-id`` tells a client its run, and a
trace belongs to the keyed hash of the client key that started the run (``access.py`` decides
who reads). A run that fails before anything was sent raises ``ScalingFailedError`` so the caller
can fall back to pass-through. A stream has sent its role chunk before the run ends, so a run
that fails midway ends the stream with one ``error`` event and ``[DONE]`` (the engine itself
degrades to fewer candidates or a cheaper selection and raises only when it has nothing to
answer with). Whoever waits for a run waits no longer than its deadline (at most the request
timeout: ``proxy.tasking.build_params``) plus ``ANSWER_GRACE_S``: a run still going then is
cancelled and answered with a 504.

Other answer formats (the Responses API, ``responses.py``) open the same runs with
``open_run`` and render the result themselves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response

from proxy.api.access import presented_key
from proxy.api.answer import (
    CompletionIdentity,
    completion_body,
    stream_answer,
    summary_headers,
)
from proxy.api.disconnect import cancel_on_disconnect
from proxy.api.handlers import SafeJSONResponse
from proxy.api.headers import header_value
from proxy.api.sse import EventStreamResponse
from proxy.api.trace_links import trace_url_header
from proxy.errors import ProxyError, ScalingBudgetExceededError, ScalingFailedError
from proxy.metrics import Metrics
from proxy.overhead import waiting
from proxy.runs import (
    Reuse,
    RunCoordinator,
    RunFactory,
    Subscription,
    TraceLinks,
    TraceStore,
    caller_identity,
    run_key,
)
from proxy.scaling.engine import ScalingEngine
from proxy.scaling.observer import PickRecorder
from proxy.scaling.trace import render_trace
from proxy.scaling.types import CodeTask, ProgressCallback, ScalingParams, ScalingResult

log = structlog.get_logger(__name__)

SEED_RANGE = 1 << 30
"""Drawn run seeds stay below this: the engine adds small offsets per call, and llama.cpp takes a
32-bit seed."""

ANSWER_GRACE_S = 2.0
"""How long past its deadline a run may take to wind down and answer (stages stop at the
deadline; this covers assembling the answer and cancelling what is still in flight)."""


@dataclass(frozen=True, slots=True)
class OpenRun:
    """A request's share of a run: its subscription, and the ``x-sstar-*`` headers naming it."""

    subscription: Subscription
    headers: Mapping[str, str]


class SStarService:
    """Runs S* for requests the detector chose, sharing identical runs and storing traces."""

    def __init__(
        self,
        *,
        engine: ScalingEngine | None,
        unavailable_reason: str | None,
        coordinator: RunCoordinator,
        store: TraceStore,
        keepalive_s: float,
        identity_secret: bytes | None = None,
        trace_link_ttl_s: float = 3600.0,
        metrics: Metrics | None = None,
        availability: Callable[[], str | None] | None = None,
    ) -> None:
        """``identity_secret`` keys the hashes of client keys (``SSTAR_TRACE_SECRET``); ``None``
        draws a random one, so only this process can match a key to its runs and traces. The
        same secret signs the trace links (``x-sstar-trace-url``), valid ``trace_link_ttl_s``.
        ``metrics`` records each run once, however many requests share it. ``availability``
        says, when asked, why a sandbox that can come and go (remote workers) cannot run now
        (``None``: it can)."""
        self._engine = engine
        self._metrics = metrics or Metrics()
        self._metrics.watch_runs(lambda: coordinator.active)
        self._secret = identity_secret or secrets.token_bytes(32)
        self.links = TraceLinks(self._secret, ttl_s=trace_link_ttl_s)
        self._unavailable_reason = unavailable_reason if engine is None else None
        self._availability = availability
        self._coordinator = coordinator
        self.store = store
        self._keepalive_s = keepalive_s

    @property
    def unavailable_reason(self) -> str | None:
        """Why S* cannot run now (no sandbox, or no remote worker ready); ``None``: it can."""
        if self._unavailable_reason is not None or self._availability is None:
            return self._unavailable_reason
        return self._availability()

    async def aclose(self) -> None:
        await self._coordinator.aclose()

    async def open_run(
        self,
        *,
        task: CodeTask,
        params: ScalingParams,
        body: Mapping[str, Any],
        request: Request,
        reason: str,
    ) -> OpenRun:
        """Join or start the run for this request (``CapacityError`` when none can start).

        The caller renders the answer (a chat completion here; ``responses.py`` renders a
        Responses object) and must release the subscription: ``result`` does, and so do the
        streams when they end."""
        engine = self._engine
        if engine is None:  # pragma: no cover - callers check availability first
            raise RuntimeError("S* run opened while the sandbox is unavailable")
        run_id = "run_" + secrets.token_hex(16)
        caller = self.caller(presented_key(request))
        subscription = await self._coordinator.open(
            run_key(body, params, caller),
            run_id,
            # NOTE: a replica taking over another's run runs it under the id the client was told.
            lambda as_run: self._starter(engine, task, params, as_run, caller),
            resend_of(request),
        )
        structlog.contextvars.bind_contextvars(mode="sstar", run_id=subscription.run_id)
        headers = {
            "x-sstar-applied": "true",
            "x-sstar-run-id": header_value(subscription.run_id),
            "x-sstar-reason": header_value(reason),
        }
        if self.store.capacity > 0:  # NOTE: a link to a trace that is never kept would only 404
            url = trace_url_header(request, self.links, subscription.run_id, now=time.time())
            if url is not None:
                headers["x-sstar-trace-url"] = url
        return OpenRun(subscription=subscription, headers=headers)

    async def result(self, run: OpenRun, request: Request) -> ScalingResult:
        """The run's result for a JSON answer; the subscription is released whatever happens.

        Raises ``ScalingFailedError`` (nothing was sent yet, so the caller may pass through)."""
        try:
            return await cancel_on_disconnect(request.receive, _wait_for(run.subscription))
        except ProxyError as exc:
            raise ScalingFailedError(exc.message, cause=exc) from exc
        except Exception as exc:
            log.exception("scaling_failed")
            message = f"S* run failed ({type(exc).__name__}); see the server log for details."
            raise ScalingFailedError(message, cause=exc) from exc
        finally:
            run.subscription.release()

    async def answer(
        self,
        *,
        task: CodeTask,
        params: ScalingParams,
        body: Mapping[str, Any],
        request: Request,
        reason: str,
        progress: bool,
    ) -> Response:
        """Answer with S*; raises ``ScalingFailedError`` if nothing was sent and the run failed."""
        run = await self.open_run(
            task=task, params=params, body=body, request=request, reason=reason
        )
        identity = CompletionIdentity(
            # NOTE: its own random part: a completion id must not reveal the run (its trace).
            id="chatcmpl-" + secrets.token_hex(16),
            created=int(time.time()),
            model=str(body.get("model", task.model)),
        )
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
            stream = stream_answer(
                run.subscription,
                identity,
                include_usage=include_usage,
                progress=progress,
                keepalive_s=self._keepalive_s,
                on_error=as_proxy_error,
            )
            return EventStreamResponse(stream, headers=run.headers)
        result = await self.result(run, request)
        return SafeJSONResponse(
            completion_body(result, identity), headers={**run.headers, **summary_headers(result)}
        )

    def caller(self, presented_key: bytes | None) -> str:
        """The caller identity of a client key: shares runs, owns traces (``proxy.runs``)."""
        return caller_identity(presented_key, self._secret)

    async def trace(self, run_id: str, *, owner: str | None) -> Mapping[str, object] | None:
        """``owner``'s trace of ``run_id`` (``None``: any owner; see ``RunStore.get``)."""
        return await self.store.get(run_id, owner=owner)

    def _starter(
        self,
        engine: ScalingEngine,
        task: CodeTask,
        params: ScalingParams,
        run_id: str,
        owner: str,
    ) -> RunFactory:
        if params.seed is None:
            # NOTE: drawn only here, when a run starts: the run key (computed before) must not
            # differ between a request and its retry.
            params = dataclasses.replace(params, seed=secrets.randbelow(SEED_RANGE))

        async def start(publish: ProgressCallback) -> ScalingResult:
            started = time.monotonic()
            recorder = PickRecorder()
            try:
                async with asyncio.timeout(params.deadline_s + ANSWER_GRACE_S):
                    result = await engine.run(task, params, on_progress=publish, observer=recorder)
            except TimeoutError as exc:
                self._metrics.run_ended_without_answer("deadline")
                raise ScalingBudgetExceededError(
                    f"S* run did not end within its deadline ({params.deadline_s:g} s)"
                ) from exc
            except BaseException as exc:
                self._metrics.run_ended_without_answer(_outcome_of(exc))
                raise
            self._metrics.run_answered(result, duration_s=time.monotonic() - started)
            trace = render_trace(
                result, task=task, params=params, run_id=run_id, picks=recorder.picks
            )
            await self.store.put(run_id, trace, owner=owner)
            log.info(
                "scaling_done",
                run_id=run_id,
                samples=len(result.candidates),
                passed_public=result.passed_public,
                clusters=len(result.clusters),
                calls=result.upstream_calls,
                executions=result.executions,
                degraded=len(result.degraded),
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            return result

        return start


def resend_of(request: Request) -> Reuse:
    """Whether ``request`` resends an earlier one: the OpenAI SDKs count their retries in
    ``x-stainless-retry-count`` (0 on the first attempt); ``Idempotency-Key`` names a request."""
    count = request.headers.get("x-stainless-retry-count", "").strip()
    key = request.headers.get("idempotency-key", "").strip()
    # NOTE: no int(): a header of thousands of digits would raise, not be a retry count.
    retry = count.isascii() and count.isdigit() and count.lstrip("0") != ""
    return Reuse(retry=retry, idempotency_key=key or None)


async def _wait_for(subscription: Subscription) -> ScalingResult:
    """The run's result; waiting for a run another request started is this request's wait on
    the outside world (``x-sstar-overhead-ms``), as the run's own waits are its starter's."""
    if not subscription.joined:
        return await subscription.result()
    with waiting():
        return await subscription.result()


def _outcome_of(exc: BaseException) -> str:
    """The ``sstar_runs_total`` outcome of a run that ended without an answer."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, ScalingBudgetExceededError):
        return "deadline"
    return "failed"


def as_proxy_error(exc: BaseException) -> ProxyError | None:
    """A stream's failure as the error event to send (``None``: a generic one)."""
    return exc if isinstance(exc, ProxyError) else None
