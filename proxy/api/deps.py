"""Annotated dependencies: what a route needs, read from ``app.state`` (never from globals).

Bodies are parsed here once: the raw bytes are kept (pass-through forwards them untouched), the
parsed dict is what gets rewritten when it must be, and the validated model is what the proxy
reads. Client-key auth compares in constant time and accepts the three spellings clients use.
"""

from __future__ import annotations

import hmac
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from proxy.api.access import presented_key
from proxy.api.handlers import validation_error
from proxy.api.jsonbody import parse_json_object
from proxy.api.passthrough import Passthrough
from proxy.api.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    JsonBody,
    ResponsesRequest,
)
from proxy.api.responses import ResponsesService
from proxy.api.serving import ChatService
from proxy.api.sstar import SStarService
from proxy.errors import AuthenticationError, ClientDisconnectedError
from proxy.settings import Settings

M = TypeVar("M", bound=BaseModel)


async def _read_body(request: Request) -> bytes:
    """The whole body; a client that leaves mid-body is a 499, logged once and without a trace."""
    try:
        return await request.body()
    except ClientDisconnect as exc:
        raise ClientDisconnectedError from exc


async def _parse(request: Request, model: type[M]) -> JsonBody[M]:
    raw = await _read_body(request)
    data = parse_json_object(raw)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    return JsonBody(raw=raw, data=data, parsed=parsed)


async def _chat_body(request: Request) -> JsonBody[ChatCompletionRequest]:
    return await _parse(request, ChatCompletionRequest)


async def _completion_body(request: Request) -> JsonBody[CompletionRequest]:
    return await _parse(request, CompletionRequest)


async def _embedding_body(request: Request) -> JsonBody[EmbeddingRequest]:
    return await _parse(request, EmbeddingRequest)


async def _responses_body(request: Request) -> JsonBody[ResponsesRequest]:
    return await _parse(request, ResponsesRequest)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# NOTE: dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a
# worker thread, a thread hop per dependency per request.


async def _chat_service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat_service
    return service


async def _responses_service(request: Request) -> ResponsesService:
    service: ResponsesService = request.app.state.responses_service
    return service


async def _sstar(request: Request) -> SStarService:
    service: SStarService = request.app.state.sstar
    return service


async def _passthrough(request: Request) -> Passthrough:
    passthrough: Passthrough = request.app.state.passthrough
    return passthrough


async def _settings_dep(request: Request) -> Settings:
    return _settings(request)


async def require_client_key(request: Request) -> None:
    """401 unless the request carries one of ``SSTAR_API_KEYS`` (no keys configured: open)."""
    keys = _settings(request).client_keys()
    if not keys:
        return
    presented = presented_key(request)
    # NOTE: compare against every key, no early exit, so timing says nothing about which matched.
    matched = False
    for key in keys:
        matched |= presented is not None and hmac.compare_digest(presented, key)
    if not matched:
        message = (
            "Incorrect API key provided."
            if presented
            else "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
        )
        raise AuthenticationError(message, code="invalid_api_key")


ChatServiceDep = Annotated[ChatService, Depends(_chat_service)]
PassthroughDep = Annotated[Passthrough, Depends(_passthrough)]
SStarDep = Annotated[SStarService, Depends(_sstar)]
SettingsDep = Annotated[Settings, Depends(_settings_dep)]
ChatBody = Annotated[JsonBody[ChatCompletionRequest], Depends(_chat_body)]
CompletionBody = Annotated[JsonBody[CompletionRequest], Depends(_completion_body)]
EmbeddingBody = Annotated[JsonBody[EmbeddingRequest], Depends(_embedding_body)]
ResponsesServiceDep = Annotated[ResponsesService, Depends(_responses_service)]
ResponsesBody = Annotated[JsonBody[ResponsesRequest], Depends(_responses_body)]
