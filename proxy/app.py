"""``create_app()``: the whole proxy assembled from settings, with nothing done at import time.

Serve with ``sstar-proxy serve`` (``proxy.server``: the connection limits and the graceful
shutdown); ``uvicorn proxy.app:create_app --factory`` serves it without them. Tests build apps
with their own settings and injected doubles (``upstream=``, ``sandbox=``). The lifespan creates
the services (pooled HTTP client, litellm adapters), stores them on ``app.state`` and closes them.

Middleware, outermost first: request context (request id, one log event per request), catch-all
(generic 500), drain (ends what still runs when a shutdown's drain time is up), body limit (413),
then FastAPI's exception handlers and the routes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from proxy import __version__
from proxy.api.drain import Drain, DrainMiddleware
from proxy.api.handlers import CatchAllMiddleware, install_handlers
from proxy.api.limits import BodyLimitMiddleware
from proxy.api.passthrough import Passthrough
from proxy.api.router import openai_routes, ops_routes
from proxy.api.serving import ChatService
from proxy.api.sstar import SStarService
from proxy.logs import RequestContextMiddleware, configure_logging
from proxy.runs import RunCoordinator, RunStore
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
from proxy.upstream.relay import Relay
from proxy.upstream.retry import RetryPolicy
from proxy.upstream.routing import ModelRouter
from sandbox import BubblewrapSandbox, LocalSandbox, RemoteSandbox, Sandbox, SandboxError

log = structlog.get_logger(__name__)


def _needs_litellm(settings: Settings, upstream: Upstream | None) -> bool:
    """Mapped models always need litellm; S* needs it unless the engine's upstream is injected."""
    return bool(settings.models) or (upstream is None and settings.sstar_mode != "off")


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
    settings: Settings, upstream: Upstream, sandbox: Sandbox | None
) -> AsyncIterator[SStarService]:
    """The S* side: sandbox (injected or opened here), engine, shared runs, trace store."""
    owned = sandbox is None
    reason = None
    if sandbox is None:
        sandbox, reason = await _open_sandbox(settings)
    service = SStarService(
        engine=(
            ScalingEngine(
                upstream,
                sandbox,
                profile=settings.upstream_profile(),
                retry=RetryPolicy.from_settings(settings),
            )
            if sandbox is not None
            else None
        ),
        unavailable_reason=reason,
        availability=sandbox.unavailable_reason if isinstance(sandbox, RemoteSandbox) else None,
        coordinator=RunCoordinator(max_active=settings.max_concurrent_runs),
        store=RunStore(settings.run_store_size),
        keepalive_s=settings.keepalive_interval_s,
        identity_secret=settings.trace_secret_bytes(),
    )
    try:
        yield service
    finally:
        await service.aclose()
        if owned and sandbox is not None:
            await sandbox.aclose()


@asynccontextmanager
async def _services(
    app: FastAPI, settings: Settings, upstream: Upstream | None, sandbox: Sandbox | None
) -> AsyncIterator[None]:
    router = ModelRouter(settings)
    relay = Relay(settings)
    clients = OpenAIClientPool(timeout_s=settings.request_timeout_s)
    passthrough = Passthrough(
        router=router,
        relay=relay,
        litellm=LiteLLMPassthrough(settings, clients=clients),
        max_fanout=settings.max_fanout,
    )
    engine_upstream = upstream or LiteLLMUpstream(settings, router=router, clients=clients)
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
        async with _sstar(settings, engine_upstream, sandbox) as sstar:
            app.state.sstar = sstar
            app.state.chat_service = ChatService(
                settings=settings, passthrough=passthrough, sstar=sstar
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


def create_app(
    settings: Settings | None = None,
    *,
    upstream: Upstream | None = None,
    sandbox: Sandbox | None = None,
) -> FastAPI:
    """Build the proxy. ``settings`` default to ``Settings.load()`` (env + ``SSTAR_CONFIG``)."""
    resolved = settings if settings is not None else Settings.load()

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
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_handlers(app)
    app.include_router(openai_routes)
    app.include_router(ops_routes)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=resolved.max_body_bytes)
    # NOTE: the server drives the drain (proxy/server): it finds it on app.state.
    app.state.drain = Drain()
    app.add_middleware(DrainMiddleware, drain=app.state.drain)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
