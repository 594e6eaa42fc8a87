"""``ChatService``: the one place that decides how a chat request is answered.

Order: resolve the S* controls (header > body ``sstar`` > ``sstar/`` alias > settings; a bad value
is a 400), build the detector's view of the request, ``detect``, then either pass the request
through untouched, or build the task and its parameters (``proxy.tasking``) and answer with S*.
Every answer says which happened in ``x-sstar-applied`` and why in ``x-sstar-reason``. When S*
cannot run (sandbox unavailable, proxy at capacity, the run failed before anything was sent) the
request is passed through and the reason says so, unless the request forced S*: then the client
gets the error instead of a silently different answer. A run the upstream refused (429, 401,
403) is never passed through: the same upstream would refuse that too, so its error is relayed.
That rule is ``fallback.py``'s, shared with the Responses API.
"""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import Response

from proxy.api.controls import Controls, resolve_controls
from proxy.api.fallback import Why, pass_through_reason, raise_if_refused_upstream
from proxy.api.headers import header_value
from proxy.api.passthrough import Passthrough
from proxy.api.protocol import EXTENSION_FIELD, ChatCompletionRequest, JsonBody
from proxy.api.sstar import SStarService
from proxy.detection import Decision, detect, view_from_body
from proxy.errors import (
    CapacityError,
    InvalidRequestError,
    ProxyError,
    SandboxUnavailableError,
    ScalingFailedError,
)
from proxy.metrics import Metrics
from proxy.settings import Settings
from proxy.tasking import build_params, build_task

log = structlog.get_logger(__name__)


class ChatService:
    """Answers ``POST /v1/chat/completions``."""

    def __init__(
        self,
        *,
        settings: Settings,
        passthrough: Passthrough,
        sstar: SStarService,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.passthrough = passthrough
        self.sstar = sstar
        self._metrics = metrics or Metrics()

    async def chat(self, body: JsonBody[ChatCompletionRequest], request: Request) -> Response:
        """Detect, then S* or pass-through."""
        controls = resolve_controls(
            headers=request.headers,
            extension=body.data.get(EXTENSION_FIELD),
            model=body.parsed.model,
            settings=self.settings,
        )
        view = view_from_body(body.data, mode=controls.mode, explicit_tests=bool(controls.tests))
        decision = detect(view)
        structlog.contextvars.bind_contextvars(
            model=body.parsed.model, stream=bool(body.parsed.stream), rule=decision.rule
        )
        log.info("detector_decided", rule=decision.rule, apply=decision.apply)
        self._metrics.decided(decision.rule, applied=decision.apply)
        if decision.rule == "force_conflict":
            raise InvalidRequestError(decision.reason, param=decision.param)
        if not decision.apply:
            return await self._pass(body, request, decision.reason)
        if self.sstar.unavailable_reason is not None:
            reason = f"sandbox unavailable: {self.sstar.unavailable_reason}"
            return await self._cannot_scale(
                body, request, controls, "sandbox_unavailable", SandboxUnavailableError(reason)
            )
        return await self._scale(body, request, controls, decision)

    async def _scale(
        self,
        body: JsonBody[ChatCompletionRequest],
        request: Request,
        controls: Controls,
        decision: Decision,
    ) -> Response:
        task = build_task(body.data, decision, model=controls.base_model, tests=controls.tests)
        params = build_params(
            self.settings.scaling_defaults(),
            controls.overrides,
            body.data,
            deadline_cap_s=self.settings.request_timeout_s,
        )
        try:
            return await self.sstar.answer(
                task=task,
                params=params,
                body=body.data,
                request=request,
                reason=decision.reason,
                progress=controls.progress,
            )
        except CapacityError as exc:
            return await self._cannot_scale(body, request, controls, "capacity", exc)
        except ScalingFailedError as exc:
            raise_if_refused_upstream(exc, self._metrics)
            return await self._cannot_scale(body, request, controls, "run_failed", exc)

    async def _cannot_scale(
        self,
        body: JsonBody[ChatCompletionRequest],
        request: Request,
        controls: Controls,
        why: Why,
        error: ProxyError,
    ) -> Response:
        """Pass through with the reason, or raise (``proxy.api.fallback``)."""
        reason = pass_through_reason(
            why, error, controls=controls, settings=self.settings, metrics=self._metrics
        )
        return await self._pass(body, request, reason)

    async def _pass(
        self, body: JsonBody[ChatCompletionRequest], request: Request, reason: str
    ) -> Response:
        structlog.contextvars.bind_contextvars(mode="passthrough")
        response = await self.passthrough.chat(body.data, request.headers, request, raw=body.raw)
        response.headers["x-sstar-applied"] = "false"
        response.headers["x-sstar-reason"] = header_value(reason)
        return response
