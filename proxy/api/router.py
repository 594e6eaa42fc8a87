"""Thin routes: parse (deps), delegate (services), return. No try/except here (handlers.py).

OpenAI paths are served with and without the ``/v1`` prefix because clients disagree on whether
the base URL includes it. ``/health`` and ``/ready`` (also ``/healthz``, ``/readyz``) are open;
everything else requires a client key when ``SSTAR_API_KEYS`` is set. The run traces and their
pages (``traces.py``) check the key themselves, since a signed link may stand in for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse, Response

from proxy.api.deps import (
    ChatBody,
    ChatServiceDep,
    CompletionBody,
    EmbeddingBody,
    PassthroughDep,
    ResponsesBody,
    ResponsesServiceDep,
    SStarDep,
    require_client_key,
)
from proxy.api.docs import ERROR_RESPONSES, request_body
from proxy.api.handlers import error_response
from proxy.api.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ResponsesRequest,
)
from proxy.cluster import RedisLink
from proxy.errors import NotFoundError, ProxyError

openai_routes = APIRouter(dependencies=[Depends(require_client_key)], responses=ERROR_RESPONSES)
ops_routes = APIRouter()


def _bind(model: str, mode: str) -> None:
    structlog.contextvars.bind_contextvars(model=model, mode=mode)


@openai_routes.post("/v1/chat/completions", openapi_extra=request_body(ChatCompletionRequest))
@openai_routes.post("/chat/completions", include_in_schema=False)
async def chat_completions(request: Request, body: ChatBody, chat: ChatServiceDep) -> Response:
    return await chat.chat(body, request)


@openai_routes.post("/v1/responses", openapi_extra=request_body(ResponsesRequest))
@openai_routes.post("/responses", include_in_schema=False)
async def responses(
    request: Request, body: ResponsesBody, service: ResponsesServiceDep
) -> Response:
    return await service.respond(body, request)


@openai_routes.post("/v1/completions", openapi_extra=request_body(CompletionRequest))
@openai_routes.post("/completions", include_in_schema=False)
async def completions(
    request: Request, body: CompletionBody, passthrough: PassthroughDep
) -> Response:
    _bind(body.parsed.model, "passthrough")
    return await passthrough.forward(
        "completions", body.data, request.headers, request, raw=body.raw
    )


@openai_routes.post("/v1/embeddings", openapi_extra=request_body(EmbeddingRequest))
@openai_routes.post("/embeddings", include_in_schema=False)
async def embeddings(
    request: Request, body: EmbeddingBody, passthrough: PassthroughDep
) -> Response:
    _bind(body.parsed.model, "passthrough")
    return await passthrough.forward(
        "embeddings", body.data, request.headers, request, raw=body.raw
    )


@openai_routes.get("/v1/models")
@openai_routes.get("/models", include_in_schema=False)
async def list_models(request: Request, passthrough: PassthroughDep) -> dict[str, Any]:
    return await passthrough.list_models(request.headers)


@openai_routes.get("/v1/models/{model_id:path}")
@openai_routes.get("/models/{model_id:path}", include_in_schema=False)
async def retrieve_model(
    model_id: str, request: Request, passthrough: PassthroughDep
) -> dict[str, Any]:
    listing = await passthrough.list_models(request.headers)
    for entry in listing["data"]:
        if entry["id"] == model_id:
            found: dict[str, Any] = entry
            return found
    raise NotFoundError(
        f"The model `{model_id}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


UPSTREAM_PATHS = frozenset(
    route.path for route in openai_routes.routes if isinstance(route, APIRoute)
)
"""The routes answered through the upstream; their answers carry ``x-sstar-overhead-ms``."""


@ops_routes.get("/health")
@ops_routes.get("/healthz", include_in_schema=False)
async def health() -> dict[str, str]:
    """Liveness: the process serves requests. Never touches the upstream."""
    return {"status": "ok"}


@ops_routes.get("/ready")
@ops_routes.get("/readyz", include_in_schema=False)
async def ready(request: Request, passthrough: PassthroughDep, sstar: SStarDep) -> Response:
    """Readiness: the upstream answers and the sandbox proved its isolation (SANDBOX.md rule 1);
    a draining server (SIGTERM received) is not ready, so a load balancer sends no more.

    With ``SSTAR_REDIS_URL`` the body says whether Redis answers (``"redis": "up"|"down"``), but
    a replica without Redis stays ready: it serves on its own state (``proxy.cluster``)."""
    drain = getattr(request.app.state, "drain", None)
    if drain is not None and drain.draining:
        error = ProxyError("The server is shutting down.", code="shutting_down")
    elif sstar.unavailable_reason is not None:
        error = ProxyError(
            f"The sandbox is unavailable: {sstar.unavailable_reason}",
            code="sandbox_unavailable",
        )
    elif not await passthrough.ready():
        error = ProxyError("The upstream is not reachable.", code="upstream_unavailable")
    else:
        body = {"status": "ready"}
        link = getattr(request.app.state, "redis", None)
        if link is not None:
            body["redis"] = await _redis_state(link)
        return JSONResponse(body)
    error.status_code = 503
    return error_response(error)


REDIS_PROBE_S = 1.0
"""How long ``/ready`` waits for Redis: a Redis that hangs must not make the probe time out."""


async def _redis_state(link: RedisLink) -> str:
    try:
        async with asyncio.timeout(REDIS_PROBE_S):
            return "up" if await link.ping() else "down"
    except TimeoutError:
        return "down"
