"""S* inside the server: turn a detected request into a run, share it, and answer like OpenAI.

``ChatService`` decides *whether* S* applies; this module does the rest: build the ``CodeTask``
(explicit tests first, else examples extracted from the prompt), join or start the shared run
(``proxy.runs``), and answer as a ``chat.completion`` or an SSE stream. A run that fails before
anything was sent is reported to the caller (``ScalingFailedError``) so it can fall back to
pass-through. A stream has sent its role chunk before the run ends, so a run that fails midway
ends the stream with one ``error`` event and ``[DONE]`` (the engine itself degrades to fewer
candidates or a cheaper selection and raises only when it has nothing to answer with).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proxy.api.answer import (
    CompletionIdentity,
    completion_body,
    header_safe,
    stream_answer,
    summary_headers,
)
from proxy.api.controls import Controls, explicit_public_tests
from proxy.api.disconnect import cancel_on_disconnect
from proxy.api.sse import EventStreamResponse
from proxy.errors import InvalidRequestError, ProxyError
from proxy.runs import RunCoordinator, RunFactory, RunStore
from proxy.scaling.detect import Decision
from proxy.scaling.engine import ScalingEngine
from proxy.scaling.extraction import extract_public_tests
from proxy.scaling.trace import render_trace
from proxy.scaling.types import (
    CodeTask,
    ProgressCallback,
    ScalingParams,
    ScalingResult,
    TaskKind,
)
from proxy.upstream.base import Message, Role

log = structlog.get_logger(__name__)

_TEXT_ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant"})


class ScalingFailedError(Exception):
    """An S* run failed before any byte was sent; the caller may still pass the request through."""

    def __init__(self, reason: str, cause: BaseException) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


def conversation(messages: object) -> tuple[Message, ...]:
    """The chat history as plain text messages (the detector already refused non-text parts)."""
    out: list[Message] = []
    for raw in messages if isinstance(messages, list) else []:
        role = raw.get("role") if isinstance(raw, Mapping) else None
        if role not in _TEXT_ROLES:
            continue
        content = raw.get("content")
        if isinstance(content, list):
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        role_name: Role = role
        out.append(Message(role=role_name, content=str(content or "")))
    return tuple(out)


def build_task(body: Mapping[str, Any], controls: Controls, decision: Decision) -> CodeTask:
    """The engine's task: kind and signature from the detector, tests from the client or prompt."""
    shape = decision.shape
    problem = decision.problem or ""
    # NOTE: with no task shape (forced, or explicit tests only) nothing can be called by name,
    # so the program is a stdin program.
    kind: TaskKind = shape.kind if shape is not None else "stdin"
    signature = shape.signature if shape is not None else None
    if controls.tests:
        try:
            tests = explicit_public_tests(controls.tests, kind=kind)
        except ValueError as exc:
            raise InvalidRequestError(
                f"Invalid S* test: {exc}. Function-task inputs are JSON arrays of arguments.",
                param="sstar.tests",
            ) from exc
    else:
        tests = extract_public_tests(problem, kind=kind, signature=signature)
    return CodeTask(
        problem=problem,
        conversation=conversation(body.get("messages")),
        kind=kind,
        model=controls.base_model,
        signature=signature,
        public_tests=tests,
    )


# Client sampling fields that are harmless to repeat on every sub-call. ``stop`` is not among them:
# a client's stop string could cut the fenced program the engine needs.
_FORWARDED_SAMPLING = (
    "top_p",
    "top_k",
    "min_p",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "logit_bias",
    "user",
)


def request_params(body: Mapping[str, Any], params: ScalingParams) -> ScalingParams:
    """The run's knobs refined by the request itself (OPENAI_API.md §2, S* mode column).

    The client's output cap (``max_completion_tokens`` or the deprecated ``max_tokens``) is the
    per-sample cap; ``seed`` seeds the randomised steps unless a control set one; harmless
    sampling fields are forwarded to the sub-calls.
    """
    updates: dict[str, Any] = {}
    cap = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
        updates["max_tokens_per_call"] = cap
    seed = body.get("seed")
    if params.seed is None and isinstance(seed, int) and not isinstance(seed, bool):
        updates["seed"] = seed
    extra = {key: body[key] for key in _FORWARDED_SAMPLING if body.get(key) is not None}
    if extra:
        updates["sampling_extra"] = {**params.sampling_extra, **extra}
    return dataclasses.replace(params, **updates) if updates else params


def dedupe_key(body: Mapping[str, Any], controls: Controls, caller: str) -> str:
    """Identical request + caller + effective S* parameters = the same run."""
    payload = {
        "body": {k: v for k, v in body.items() if k not in ("stream", "stream_options")},
        "params": repr(controls.params),
        "model": controls.base_model,
        "caller": caller,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def caller_identity(headers: Mapping[str, str]) -> str:
    """A hash of the presented credentials: runs are never shared across callers."""
    presented = headers.get("authorization") or headers.get("api-key") or headers.get("x-api-key")
    return hashlib.sha256((presented or "").encode()).hexdigest()[:16]


class ScalingService:
    """Runs S* for requests the detector chose, sharing identical runs and storing traces."""

    def __init__(
        self,
        *,
        engine: ScalingEngine | None,
        unavailable_reason: str | None,
        coordinator: RunCoordinator,
        store: RunStore,
        keepalive_s: float,
    ) -> None:
        self._engine = engine
        self.unavailable_reason = unavailable_reason if engine is None else None
        self._coordinator = coordinator
        self.store = store
        self._keepalive_s = keepalive_s

    async def aclose(self) -> None:
        await self._coordinator.aclose()

    async def answer(
        self,
        *,
        body: Mapping[str, Any],
        request: Request,
        controls: Controls,
        decision: Decision,
    ) -> Response:
        """Answer with S*; raises ``ScalingFailedError`` if nothing was sent and the run failed."""
        engine = self._engine
        if engine is None:  # pragma: no cover - ChatService checks availability first
            raise RuntimeError("S* answer() called while the sandbox is unavailable")
        task = build_task(body, controls, decision)
        params = request_params(body, controls.params)
        run_id = "run_" + uuid.uuid4().hex[:24]
        key = dedupe_key(body, controls, caller_identity(request.headers))
        subscription = self._coordinator.subscribe(
            key, run_id, self._starter(engine, task, params, run_id)
        )
        structlog.contextvars.bind_contextvars(mode="sstar", run_id=subscription.run_id)
        identity = CompletionIdentity(
            id="chatcmpl-" + subscription.run_id.removeprefix("run_"),
            created=int(time.time()),
            model=str(body.get("model", controls.base_model)),
        )
        headers = {
            "x-sstar-applied": "true",
            "x-sstar-run-id": subscription.run_id,
            "x-sstar-reason": header_safe(decision.reason),
        }
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
            stream = stream_answer(
                subscription,
                identity,
                include_usage=include_usage,
                progress=controls.progress,
                keepalive_s=self._keepalive_s,
                on_error=_as_proxy_error,
            )
            return EventStreamResponse(stream, headers=headers)
        try:
            result = await cancel_on_disconnect(request.receive, subscription.result())
        except ProxyError as exc:
            raise ScalingFailedError(f"S* run failed: {exc.message}", exc) from exc
        except Exception as exc:
            log.exception("scaling_failed")
            raise ScalingFailedError(f"S* run failed ({type(exc).__name__})", exc) from exc
        finally:
            subscription.release()
        return JSONResponse(
            completion_body(result, identity), headers={**headers, **summary_headers(result)}
        )

    def trace(self, run_id: str) -> Mapping[str, object] | None:
        return self.store.get(run_id)

    def _starter(
        self, engine: ScalingEngine, task: CodeTask, params: ScalingParams, run_id: str
    ) -> RunFactory:
        async def start(publish: ProgressCallback) -> ScalingResult:
            started = time.monotonic()
            result = await engine.run(task, params, on_progress=publish)
            self.store.put(run_id, render_trace(result, task=task, params=params, run_id=run_id))
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
