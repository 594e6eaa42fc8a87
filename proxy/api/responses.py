"""``ResponsesService``: ``POST /v1/responses``, decided and answered like a chat request.

Order, as in ``ChatService``: resolve the S* controls (the same ``x-sstar-*`` headers and
``sstar`` body object), see the request as a chat request (``responses_view.py``; tools,
stored context, structured output or non-text input block S*), ``detect`` on that view, then
either pass the request through or build the task and answer with S* (``responses_answer.py``
renders the run as a ``response`` object or its event stream, with the same ``x-sstar-*``
headers and trace). When S* cannot run, the request passes through unless it forced S*; a run
the upstream refused is never passed through.

Pass-through reaches the upstream in one of two ways (``relays_responses``):

- **relay**: the OpenAI-compatible base serves ``/v1/responses`` (vLLM, OpenAI): the body is
  forwarded byte for byte (only the ``sstar`` field and an ``sstar/`` alias are removed) and
  the answer, JSON or event stream, comes back as the upstream's bytes;
- **translate**: the base does not (the embedded llama.cpp model), or the model is mapped:
  litellm's bridge (``proxy.upstream.litellm_responses``). Nothing is stored there, so a
  request that continues a stored response (``previous_response_id``, ``conversation``) or
  asks for a ``background`` one is a 400 naming the field rather than an answer that silently
  forgot the context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response

from proxy.api.answer import summary_headers
from proxy.api.controls import Controls, resolve_controls
from proxy.api.disconnect import cancel_on_disconnect
from proxy.api.fallback import Why, pass_through_reason, raise_if_refused_upstream
from proxy.api.handlers import SafeJSONResponse
from proxy.api.headers import header_value
from proxy.api.passthrough import outbound_body
from proxy.api.protocol import EXTENSION_FIELD, JsonBody, ResponsesRequest
from proxy.api.responses_answer import ResponseIdentity, completed_body, stream_response
from proxy.api.responses_sse import encode_response_events, relay_response_events
from proxy.api.responses_view import chat_view
from proxy.api.sse import EventStreamResponse
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
from proxy.upstream.litellm_responses import LiteLLMResponses
from proxy.upstream.relay import Relay, forward_headers
from proxy.upstream.routing import ModelRouter, RelayRoute, Route

log = structlog.get_logger(__name__)

_STORED = ("previous_response_id", "conversation")


def relays_responses(settings: Settings) -> bool:
    """Whether the OpenAI-compatible base gets ``/v1/responses`` as is (else it is translated).

    ``auto``: every such server but llama.cpp's (the embedded model, ``upstream_is_llama_cpp``
    or kind ``llama_cpp``), which has no Responses API."""
    if settings.upstream_responses != "auto":
        return settings.upstream_responses == "relay"
    llama_cpp = settings.upstream_is_llama_cpp or settings.upstream_kind in (
        "embedded",
        "llama_cpp",
    )
    return not llama_cpp


class ResponsesService:
    """Answers ``POST /v1/responses``."""

    def __init__(
        self,
        *,
        settings: Settings,
        router: ModelRouter,
        relay: Relay,
        litellm: LiteLLMResponses,
        sstar: SStarService,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self._router = router
        self._relay = relay
        self._litellm = litellm
        self.sstar = sstar
        self._metrics = metrics or Metrics()

    async def respond(self, body: JsonBody[ResponsesRequest], request: Request) -> Response:
        """Detect on the chat view, then S* or pass-through."""
        controls = resolve_controls(
            headers=request.headers,
            extension=body.data.get(EXTENSION_FIELD),
            model=body.parsed.model,
            settings=self.settings,
        )
        view = chat_view(body.data)
        if view.blocker is not None:
            decision = Decision(False, *view.blocker)
        else:
            chat = view_from_body(
                view.body, mode=controls.mode, explicit_tests=bool(controls.tests)
            )
            decision = detect(chat)
        structlog.contextvars.bind_contextvars(
            model=body.parsed.model, stream=bool(body.parsed.stream), rule=decision.rule
        )
        log.info("detector_decided", rule=decision.rule, apply=decision.apply, api="responses")
        self._metrics.decided(decision.rule, applied=decision.apply)
        if decision.rule == "force_conflict":
            param = "top_logprobs" if decision.param == "logprobs" else decision.param
            raise InvalidRequestError(decision.reason, param=param)
        if not decision.apply:
            return await self._pass(body, request, decision.reason)
        if self.sstar.unavailable_reason is not None:
            reason = f"sandbox unavailable: {self.sstar.unavailable_reason}"
            return await self._cannot_scale(
                body,
                request,
                controls,
                "sandbox_unavailable",
                SandboxUnavailableError(reason),
            )
        return await self._scale(body, request, controls, decision, view.body)

    async def _scale(
        self,
        body: JsonBody[ResponsesRequest],
        request: Request,
        controls: Controls,
        decision: Decision,
        chat: Mapping[str, Any],
    ) -> Response:
        task = build_task(chat, decision, model=controls.base_model, tests=controls.tests)
        params = build_params(
            self.settings.scaling_defaults(),
            controls.overrides,
            chat,
            deadline_cap_s=self.settings.request_timeout_s,
        )
        try:
            run = await self.sstar.open_run(
                task=task, params=params, body=chat, request=request, reason=decision.reason
            )
            identity = ResponseIdentity.new(body.data)
            if body.parsed.stream is True:
                stream = stream_response(
                    run.subscription,
                    identity,
                    progress=controls.progress,
                    keepalive_s=self.settings.keepalive_interval_s,
                )
                return EventStreamResponse(stream, headers=run.headers)
            result = await self.sstar.result(run, request)
        except CapacityError as exc:
            return await self._cannot_scale(body, request, controls, "capacity", exc)
        except ScalingFailedError as exc:
            raise_if_refused_upstream(exc, self._metrics)
            return await self._cannot_scale(body, request, controls, "run_failed", exc)
        return SafeJSONResponse(
            completed_body(result, identity), headers={**run.headers, **summary_headers(result)}
        )

    async def _cannot_scale(
        self,
        body: JsonBody[ResponsesRequest],
        request: Request,
        controls: Controls,
        why: Why,
        error: ProxyError,
    ) -> Response:
        """Pass through with the reason, or raise (``proxy.api.fallback``), as for chat."""
        reason = pass_through_reason(
            why, error, controls=controls, settings=self.settings, metrics=self._metrics
        )
        return await self._pass(body, request, reason)

    async def _pass(
        self, body: JsonBody[ResponsesRequest], request: Request, reason: str
    ) -> Response:
        structlog.contextvars.bind_contextvars(mode="passthrough")
        route = self._router.resolve(body.parsed.model)
        if isinstance(route, RelayRoute) and relays_responses(self.settings):
            work = self._relay_call(route, body, request)
        else:
            work = self._translate(route, body)
        response = await cancel_on_disconnect(request.receive, work)
        response.headers["x-sstar-applied"] = "false"
        response.headers["x-sstar-reason"] = header_value(reason)
        return response

    async def _relay_call(
        self, route: RelayRoute, body: JsonBody[ResponsesRequest], request: Request
    ) -> Response:
        """Byte-faithful: the client's bytes out, the upstream's bytes back."""
        outbound = forward_headers(
            request.headers.items(), route.api_key, self._router.relay_headers
        )
        relayed = await self._relay.post(
            f"{route.api_base}/responses",
            outbound_body(body.data, body.raw, route.model),
            outbound,
            stream=body.parsed.stream is True,
        )
        headers = dict(relayed.headers)
        if relayed.stream is None:
            return Response(relayed.body, status_code=relayed.status_code, headers=headers)
        return EventStreamResponse(
            relay_response_events(relayed.stream),
            status_code=relayed.status_code,
            headers=headers,
            on_close=relayed.close,
        )

    async def _translate(self, route: Route, body: JsonBody[ResponsesRequest]) -> Response:
        """litellm's bridge (forced for the OpenAI-compatible base and ``translate``)."""
        bridge = isinstance(route, RelayRoute) or self.settings.upstream_responses == "translate"
        if bridge:
            refuse_stored_context(body.data)
        params = {k: v for k, v in body.data.items() if k not in (EXTENSION_FIELD, "model")}
        result = await self._litellm.forward(route, params, bridge=bridge)
        if isinstance(result, dict):
            return SafeJSONResponse(result)
        # NOTE: closing the events closes litellm's stream, which stops the generation.
        return EventStreamResponse(
            encode_response_events(result), on_close=getattr(result, "aclose", None)
        )


def refuse_stored_context(body: Mapping[str, Any]) -> None:
    """Translated, nothing stores responses: refuse what needs a stored one (400, not a guess)."""
    for name in _STORED:
        if body.get(name):
            raise InvalidRequestError(
                f"'{name}' needs an upstream that stores responses; this one is served by "
                "translation to chat completions and stores none. Send the whole conversation "
                "as 'input' instead.",
                param=name,
                code="unsupported_parameter",
            )
    if body.get("background") is True:
        raise InvalidRequestError(
            "'background' responses need an upstream that stores responses; this one is served "
            "by translation to chat completions.",
            param="background",
            code="unsupported_parameter",
        )
