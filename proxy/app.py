"""``create_app()``: the whole proxy assembled from settings, with nothing done at import time.

Serve with ``sstar-proxy serve`` (``proxy.server``: the connection limits and the graceful
shutdown); ``uvicorn proxy.app:create_app --factory`` serves it without them. Tests build apps
with their own settings and injected doubles (``upstream=``, ``sandbox=``). The lifespan creates
the services (pooled HTTP client, litellm adapters), stores them on ``app.state`` and closes them.

Middleware, outermost first: request context (request id, one log event per request), metrics
(request counts and latency, ``x-sstar-overhead-ms``), CORS (only with ``SSTAR_CORS_ORIGINS``;
outside the catch-all so that errors carry its headers too), catch-all (generic 500), drain
(ends what still runs when a shutdown's drain time is up), body limit (413), then FastAPI's
exception handlers and the routes.

Operations (``Metrics`` in ``proxy.metrics``, one registry per app): ``GET /metrics``, ``/docs``
and ``/openapi.json`` with the request models. ``model_health`` lists the embedded model servers
whose health ``/metrics`` reports (``sstar-proxy serve`` passes them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from proxy import __version__
from proxy.api.cors import install_cors
from proxy.api.docs import API_DESCRIPTION, docs_routes, install_openapi
from proxy.api.drain import Drain, DrainMiddleware
from proxy.api.handlers import CatchAllMiddleware, install_handlers
from proxy.api.limits import BodyLimitMiddleware
from proxy.api.metering import MetricsMiddleware, metrics_routes
from proxy.api.passthrough import Passthrough
from proxy.api.responses import ResponsesService, relays_responses
from proxy.api.router import UPSTREAM_PATHS, openai_routes, ops_routes
from proxy.api.serving import ChatService
from proxy.api.sstar import SStarService
from proxy.api.traces import trace_routes
from proxy.cluster import ClusterCoordinator, RedisLink
from proxy.cluster.traces import RedisTraceStore
from proxy.logs import RequestContextMiddleware, configure_logging
from proxy.metered import MeteredSandbox, TimedUpstream
from proxy.metrics import Metrics, ModelHealth
from proxy.runs import RunCoordinator, RunStore, TraceStore
from proxy.scaling.engine import ScalingEngine
from proxy.settings import Settings
from proxy.upstream.base import Upstream
from proxy.upstream.litellm_client import (
    LiteLLMPassthrough,
    LiteLLMUpstream,
    OpenAIClientPool,
    close_clients,
    warm_up,
)
from proxy.upstream.litellm_responses import LiteLLMResponses
from proxy.upstream.relay import Relay
from proxy.upstream.retry import RetryPolicy
from proxy.upstream.routing import ModelRouter
from sandbox import BubblewrapSandbox, LocalSandbox, RemoteSandbox, Sandbox, SandboxError

log = structlog.get_logger(__name__)


def _needs_litellm(settings: Settings, upstream: Upstream | None) -> bool:
    """Mapped models always need litellm; S* needs it unless the engine's upstream is injected;
    so do Responses requests that are translated to chat completions."""
    return (
        bool(settings.models)
        or (upstream is None and settings.sstar_mode != "off")
        or not relays_responses(settings)
    )


async def _open_sandbox(settings: Settings) -> tuple[Sandbox | None, str | None]:
    """The configured backend, or ``None`` and why: S* then fails closed, never unisolated.

    With ``sandbox_urls`` the backend is the remote workers (``RemoteSandbox``), whose
    availability changes while the proxy runs (``SStarService.unavailable_reason`` asks it)."""
    try:
        if settings.sandbox_urls:
            # NOTE: workers that are down do not fail the start: S* waits for one to be ready.
            remote = await RemoteSandbox.open(settings.sandbox_urls, settings.sandbox_token_value())
            return remote, None
        if settings.sandbox_backend == "local":
            return LocalSandbox(production=settings.environment == "production"), None
        return await BubblewrapSandbox.create(), None
    except SandboxError as exc:
        log.error("sandbox_unavailable", reason=str(exc))
        return None, str(exc)


@asynccontextmanager
async def _sstar(
    settings: Settings,
    upstream: Upstream,
    sandbox: Sandbox | None,
    metrics: Metrics,
    link: RedisLink | None,
) -> AsyncIterator[SStarService]:
    """The S* side: sandbox (injected or opened here), engine, shared runs, trace store.

    The engine gets both seams metered (``proxy.metered``) and counts its failed sub-calls.
    ``link``: the shared Redis of the replicas (``SSTAR_REDIS_URL``), ``None`` for one process."""
    owned = sandbox is None
    reason = None
    if sandbox is None:
        sandbox, reason = await _open_sandbox(settings)
    service = SStarService(
        engine=(
            ScalingEngine(
                TimedUpstream(upstream),
                MeteredSandbox(sandbox, metrics),
                profile=settings.upstream_profile(),
                retry=RetryPolicy.from_settings(
                    settings, observer=metrics.upstream_observer("sstar")
                ),
            )
            if sandbox is not None
            else None
        ),
        unavailable_reason=reason,
        availability=sandbox.unavailable_reason if isinstance(sandbox, RemoteSandbox) else None,
        coordinator=(
            ClusterCoordinator(link, max_active=settings.max_concurrent_runs)
            if link is not None
            else RunCoordinator(max_active=settings.max_concurrent_runs)
        ),
        store=_trace_store(settings, link),
        keepalive_s=settings.keepalive_interval_s,
        identity_secret=settings.trace_secret_bytes(),
        trace_link_ttl_s=settings.trace_link_ttl_s,
        metrics=metrics,
    )
    try:
        yield service
    finally:
        await service.aclose()
        if owned and sandbox is not None:
            await sandbox.aclose()


def _trace_store(settings: Settings, link: RedisLink | None) -> TraceStore:
    """This process's traces, or the replicas' shared ones (kept here too, for outages)."""
    local = RunStore(settings.run_store_size)
    if link is None:
        return local
    return RedisTraceStore(link, local, ttl_s=settings.trace_ttl_s)


@asynccontextmanager
async def _services(
    app: FastAPI, settings: Settings, upstream: Upstream | None, sandbox: Sandbox | None
) -> AsyncIterator[None]:
    metrics: Metrics = app.state.metrics
    on_error = metrics.upstream_observer("passthrough")
    router = ModelRouter(settings)
    relay = Relay(settings, on_error=on_error)
    clients = OpenAIClientPool(timeout_s=settings.request_timeout_s)
    passthrough = Passthrough(
        router=router,
        relay=relay,
        litellm=LiteLLMPassthrough(settings, clients=clients, on_error=on_error),
        max_fanout=settings.max_fanout,
    )
    engine_upstream = upstream or LiteLLMUpstream(settings, router=router, clients=clients)
    redis_url = settings.redis_url_value()
    link = (
        RedisLink.from_url(redis_url, prefix=settings.redis_prefix, metrics=metrics)
        if redis_url
        else None
    )
    app.state.redis = link
    app.state.settings = settings
    app.state.router = router
    app.state.relay = relay
    app.state.passthrough = passthrough
    app.state.upstream = engine_upstream
    # NOTE: import litellm in the background so startup stays fast and no request pays 2-4 s.
    warming = (
        asyncio.create_task(asyncio.to_thread(warm_up))
        if _needs_litellm(settings, upstream)
        else None
    )
    try:
        async with _sstar(settings, engine_upstream, sandbox, metrics, link) as sstar:
            app.state.sstar = sstar
            app.state.chat_service = ChatService(
                settings=settings, passthrough=passthrough, sstar=sstar, metrics=metrics
            )
            app.state.responses_service = ResponsesService(
                settings=settings,
                router=router,
                relay=relay,
                litellm=LiteLLMResponses(settings, clients=clients),
                sstar=sstar,
                metrics=metrics,
            )
            yield
    finally:
        if warming is not None:
            # NOTE: an unfinished import cannot be interrupted; stop waiting for it, it ends alone.
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await warming
        await relay.aclose()
        await clients.aclose()
        await close_clients()
        if link is not None:
            await link.aclose()


def create_app(
    settings: Settings | None = None,
    *,
    upstream: Upstream | None = None,
    sandbox: Sandbox | None = None,
    model_health: Sequence[ModelHealth] = (),
) -> FastAPI:
    """Build the proxy. ``settings`` default to ``Settings.load()`` (env + ``SSTAR_CONFIG``)."""
    resolved = settings if settings is not None else Settings.load()
    metrics = Metrics(
        capacity=resolved.max_concurrent_runs,
        models=model_health,
        redis=resolved.redis_url_value() is not None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not structlog.is_configured():
            configure_logging(log_format=resolved.log_format, level=resolved.log_level)
        async with _services(app, resolved, upstream, sandbox):
            log.info(
                "proxy_started", upstream=resolved.upstream_api_base, models=len(resolved.models)
            )
            yield
        log.info("proxy_stopped")

    app = FastAPI(
        title="sstar-proxy",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # NOTE: our own /docs serves Swagger UI's assets itself (api/docs.py)
        redoc_url=None,
    )
    app.state.metrics = metrics
    install_handlers(app)
    routers = (openai_routes, ops_routes, trace_routes, metrics_routes, docs_routes)
    for router in routers:
        app.include_router(router)
    # NOTE: the routes as declared: metrics match requests answered before routing against them.
    served = [
        *(route for route in app.routes if isinstance(getattr(route, "path", None), str)),
        *(route for router in routers for route in router.routes),
    ]
    install_openapi(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=resolved.max_body_bytes)
    # NOTE: the server drives the drain (proxy/server): it finds it on app.state.
    app.state.drain = Drain()
    app.add_middleware(DrainMiddleware, drain=app.state.drain)
    app.add_middleware(CatchAllMiddleware)
    install_cors(app, resolved.cors_origins)
    app.add_middleware(
        MetricsMiddleware, metrics=metrics, routes=served, overhead_paths=UPSTREAM_PATHS
    )
    app.add_middleware(RequestContextMiddleware)
    return app
