"""``SStarService``: answer a request with S*, sharing identical runs, storing their traces.

``ChatService`` decides *whether* S* applies and ``proxy.tasking`` builds the task and its
parameters; this service joins or starts the shared run (``proxy.runs``), records what each
cheaper selection mode would have picked (for the trace), and answers as a ``chat.completion``
or an SSE stream (``answer.py``). Run ids and completion ids are independent random values
(128 bits each): only ``x-sstar-run-id`` tells a client its run, and a trace belongs to the
keyed hash of the client key that started the run (``access.py`` decides who reads). A run
that fails before anything was sent raises ``ScalingFailedError`` so the caller can fall back to
pass-through. A stream has sent its role chunk before the run ends, so a run that fails midway
ends the stream with one ``error`` event and ``[DONE]`` (the engine itself degrades to fewer
candidates or a cheaper selection and raises only when it has nothing to answer with). Whoever
waits for a run waits no longer than its deadline (at most the request timeout:
``proxy.tasking.build_params``) plus ``ANSWER_GRACE_S``: a run still going then is cancelled and
answered with a 504.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping
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
from proxy.errors import ProxyError, ScalingBudgetExceededError, ScalingFailedError
from proxy.runs import RunCoordinator, RunFactory, RunStore, caller_identity, run_key
from proxy.scaling.engine import ScalingEngine
from proxy.scaling.observer import PickRecorder
from proxy.scaling.trace import render_trace
from proxy.scaling.types import CodeTask, ProgressCallback, ScalingParams, ScalingResult

log = structlog.get_logger(__name__)

ANSWER_GRACE_S = 2.0
"""How long past its deadline a run may take to wind down and answer (stages stop at the
deadline; this covers assembling the answer and cancelling what is still in flight)."""


class SStarService:
    """Runs S* for requests the detector chose, sharing identical runs and storing traces."""

    def __init__(
        self,
        *,
        engine: ScalingEngine | None,
        unavailable_reason: str | None,
        coordinator: RunCoordinator,
        store: RunStore,
        keepalive_s: float,
        identity_secret: bytes | None = None,
        availability: Callable[[], str | None] | None = None,
    ) -> None:
        """``identity_secret`` keys the hashes of client keys (``SSTAR_TRACE_SECRET``); ``None``
        draws a random one, so only this process can match a key to its runs and traces.
        ``availability`` says, when asked, why a sandbox that can come and go (remote workers)
        cannot run now (``None``: it can)."""
        self._engine = engine
        self._secret = identity_secret or secrets.token_bytes(32)
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
        engine = self._engine
        if engine is None:  # pragma: no cover - ChatService checks availability first
            raise RuntimeError("S* answer() called while the sandbox is unavailable")
        run_id = "run_" + secrets.token_hex(16)
        caller = self.caller(presented_key(request))
        subscription = self._coordinator.subscribe(
            run_key(body, params, caller),
            run_id,
            self._starter(engine, task, params, run_id, caller),
        )
        structlog.contextvars.bind_contextvars(mode="sstar", run_id=subscription.run_id)
        identity = CompletionIdentity(
            # NOTE: its own random part: a completion id must not reveal the run (its trace).
            id="chatcmpl-" + secrets.token_hex(16),
            created=int(time.time()),
            model=str(body.get("model", task.model)),
        )
        headers = {
            "x-sstar-applied": "true",
            "x-sstar-run-id": header_value(subscription.run_id),
            "x-sstar-reason": header_value(reason),
        }
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
            stream = stream_answer(
                subscription,
                identity,
                include_usage=include_usage,
                progress=progress,
                keepalive_s=self._keepalive_s,
                on_error=_as_proxy_error,
            )
            return EventStreamResponse(stream, headers=headers)
        try:
            result = await cancel_on_disconnect(request.receive, subscription.result())
        except ProxyError as exc:
            raise ScalingFailedError(exc.message, cause=exc) from exc
        except Exception as exc:
            log.exception("scaling_failed")
            message = f"S* run failed ({type(exc).__name__}); see the server log for details."
            raise ScalingFailedError(message, cause=exc) from exc
        finally:
            subscription.release()
        return SafeJSONResponse(
            completion_body(result, identity), headers={**headers, **summary_headers(result)}
        )

    def caller(self, presented_key: bytes | None) -> str:
        """The caller identity of a client key: shares runs, owns traces (``proxy.runs``)."""
        return caller_identity(presented_key, self._secret)

    def trace(self, run_id: str, *, owner: str | None) -> Mapping[str, object] | None:
        """``owner``'s trace of ``run_id`` (``None``: any owner; see ``RunStore.get``)."""
        return self.store.get(run_id, owner=owner)

    def _starter(
        self,
        engine: ScalingEngine,
        task: CodeTask,
        params: ScalingParams,
        run_id: str,
        owner: str,
    ) -> RunFactory:
        async def start(publish: ProgressCallback) -> ScalingResult:
            started = time.monotonic()
            recorder = PickRecorder()
            try:
                async with asyncio.timeout(params.deadline_s + ANSWER_GRACE_S):
                    result = await engine.run(task, params, on_progress=publish, observer=recorder)
            except TimeoutError as exc:
                raise ScalingBudgetExceededError(
                    f"S* run did not end within its deadline ({params.deadline_s:g} s)"
                ) from exc
            trace = render_trace(
                result, task=task, params=params, run_id=run_id, picks=recorder.picks
            )
            self.store.put(run_id, trace, owner=owner)
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


def _as_proxy_error(exc: BaseException) -> ProxyError | None:
    return exc if isinstance(exc, ProxyError) else None
