"""Pass-through: answer a request exactly as the upstream would, adding nothing but our headers.

Requests for an OpenAI-compatible upstream are relayed byte for byte (``upstream/relay.py``); the
body is re-serialised only when the proxy's own ``sstar`` field or ``sstar/`` alias must go.
Config-mapped models go through litellm, which translates to their provider's API. Either way the
upstream call is cancelled if the client disconnects, and a stream that fails midway ends with an
error event and ``[DONE]``. An upstream that answers ``n > 1`` with fewer choices gets the rest
asked for one call each (``fanout.py``, at most ``SSTAR_MAX_FANOUT`` calls). A stream request
that the upstream answers with a plain JSON body gets that body as the upstream sent it: no
``[DONE]`` appended, no fan-out (the relay has checked it is JSON; else it is a 502). The
request's deadline (``SSTAR_REQUEST_TIMEOUT_S``) bounds the first call and a JSON fan-out
together; extra streams, opened once the answer is under way, each get their own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proxy.alias import alias_of
from proxy.api.disconnect import cancel_on_disconnect
from proxy.api.fanout import (
    FANOUT_HEADER,
    StreamFanout,
    choices_asked,
    complete_choices,
    decode_answer,
)
from proxy.api.protocol import EXTENSION_FIELD
from proxy.api.sse import EventStreamResponse, encode_event, relay_events
from proxy.errors import NotFoundError, UpstreamError
from proxy.upstream.litellm_client import Endpoint, LiteLLMPassthrough
from proxy.upstream.relay import Relay, RelayedResponse, forward_headers
from proxy.upstream.routing import LiteLLMRoute, ModelRouter, RelayRoute

log = structlog.get_logger(__name__)

_READY_TIMEOUT_S = 2.0


def outbound_body(body: Mapping[str, Any], raw: bytes | None, model: str) -> bytes:
    """The bytes to send upstream: ``raw`` untouched unless our own fields must be removed."""
    if raw is not None and EXTENSION_FIELD not in body and body.get("model") == model:
        return raw
    out = {key: value for key, value in body.items() if key != EXTENSION_FIELD}
    out["model"] = model
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()


def _relayed_to_response(relayed: RelayedResponse) -> Response:
    headers = dict(relayed.headers)
    if relayed.stream is None:
        return Response(relayed.body, status_code=relayed.status_code, headers=headers)
    return EventStreamResponse(
        relay_events(relayed.stream),
        status_code=relayed.status_code,
        headers=headers,
        on_close=relayed.close,
    )


async def _encode_chunks(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield encode_event(chunk)
    yield b"data: [DONE]\n\n"


class Passthrough:
    """Forwards chat, completions and embeddings requests to whatever serves the model."""

    def __init__(
        self,
        *,
        router: ModelRouter,
        relay: Relay,
        litellm: LiteLLMPassthrough | None = None,
        max_fanout: int = 16,
    ) -> None:
        self._router = router
        self._relay = relay
        self._litellm = litellm
        self._max_fanout = max_fanout

    async def chat(
        self,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        request: Request,
        *,
        raw: bytes | None = None,
    ) -> Response:
        """Answer a chat completion request by pass-through (the seam ``ChatService`` calls)."""
        return await self.forward("chat/completions", body, headers, request, raw=raw)

    async def forward(
        self,
        endpoint: Endpoint,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        request: Request,
        *,
        raw: bytes | None = None,
    ) -> Response:
        """Route by model, then relay; cancelled if the client disconnects before the answer."""
        route = self._router.resolve(str(body.get("model", "")))
        if isinstance(route, RelayRoute):
            work = self._relay_call(endpoint, route, body, headers, raw)
        else:
            work = self._litellm_call(endpoint, route, body)
        return await cancel_on_disconnect(request.receive, work)

    async def _relay_call(
        self,
        endpoint: Endpoint,
        route: RelayRoute,
        body: Mapping[str, Any],
        headers: Mapping[str, str],
        raw: bytes | None,
    ) -> Response:
        url = f"{route.api_base}/{endpoint}"
        outbound = forward_headers(headers.items(), route.api_key, self._router.relay_headers)
        deadline = self._relay.deadline()
        stream = body.get("stream") is True
        relayed = await self._relay.post(
            url, outbound_body(body, raw, route.model), outbound, stream=stream, deadline=deadline
        )
        n = choices_asked(endpoint, body)
        if n == 1 or (stream and relayed.stream is None):
            return _relayed_to_response(relayed)

        async def ask_one(extra: dict[str, Any]) -> dict[str, Any] | None:
            payload = outbound_body(extra, None, route.model)
            answer = await self._relay.post(url, payload, outbound, stream=False, deadline=deadline)
            return decode_answer(answer.body or b"")

        async def open_one(extra: dict[str, Any]) -> AsyncIterator[bytes]:
            payload = outbound_body(extra, None, route.model)
            answer = await self._relay.post(url, payload, outbound, stream=True)
            if answer.stream is None:
                raise UpstreamError("the upstream answered a stream request without a stream")
            return answer.stream

        if relayed.stream is not None:
            fanout = StreamFanout(body, n, open_one, max_calls=self._max_fanout)
            return _relayed_to_response(replace(relayed, stream=fanout.relay(relayed.stream)))
        first = decode_answer(relayed.body or b"")
        merged, note = (
            await complete_choices(first, body, n, ask_one, max_calls=self._max_fanout)
            if first
            else (None, None)
        )
        if merged is None or note is None:
            return _relayed_to_response(relayed)  # every choice came: the upstream's bytes
        return JSONResponse(merged, headers=dict(relayed.headers) | {FANOUT_HEADER: note})

    async def _litellm_call(
        self, endpoint: Endpoint, route: LiteLLMRoute, body: Mapping[str, Any]
    ) -> Response:
        litellm = self._litellm
        if litellm is None:  # pragma: no cover - create_app always provides one
            raise NotFoundError(f"The model `{route.public_name}` is not served.", param="model")
        params = {k: v for k, v in body.items() if k not in (EXTENSION_FIELD, "model")}
        deadline = self._relay.deadline()
        result = await litellm.forward(endpoint, route, params, deadline=deadline)
        n = choices_asked(endpoint, body)

        async def ask_one(extra: dict[str, Any]) -> dict[str, Any] | None:
            answer = await litellm.forward(endpoint, route, extra, deadline=deadline)
            return answer if isinstance(answer, dict) else None

        async def open_one(extra: dict[str, Any]) -> AsyncIterator[bytes]:
            answer = await litellm.forward(endpoint, route, extra)
            if isinstance(answer, dict):
                raise UpstreamError("litellm answered a stream request without a stream")
            return _encode_chunks(answer)

        if isinstance(result, dict):
            merged, note = await complete_choices(
                result, params, n, ask_one, max_calls=self._max_fanout
            )
            return JSONResponse(merged, headers={FANOUT_HEADER: note} if note else None)
        chunks = _encode_chunks(result)
        if n > 1:
            chunks = StreamFanout(params, n, open_one, max_calls=self._max_fanout).relay(chunks)
        return EventStreamResponse(relay_events(chunks))

    async def list_models(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The upstream's models (entries kept as sent), mapped models, then ``sstar/`` aliases."""
        entries: list[dict[str, Any]] = []
        base = self._router.relay_base
        if base is not None:
            outbound = forward_headers(
                headers.items(), self._router.relay_key, self._router.relay_headers
            )
            relayed = await self._relay.get(f"{base}/models", outbound)
            try:
                payload = json.loads(relayed.body or b"{}")
            except ValueError as exc:
                raise UpstreamError("upstream returned an invalid model list") from exc
            listed = payload.get("data", []) if isinstance(payload, dict) else []
            entries.extend(
                e for e in listed if isinstance(e, dict) and isinstance(e.get("id"), str)
            )
        for name in self._router.mapped_names():
            entries.append({"id": name, "object": "model", "created": 0, "owned_by": "sstar-proxy"})
        aliases = [{**entry, "id": alias_of(entry["id"])} for entry in entries]
        return {"object": "list", "data": entries + aliases}

    async def ready(self) -> bool:
        """Readiness: the OpenAI-compatible upstream answers (mapped models are not probed)."""
        base = self._router.relay_base
        if base is None:
            return True
        headers = forward_headers((), self._router.relay_key)
        return await self._relay.probe(f"{base}/models", headers, timeout_s=_READY_TIMEOUT_S)
