"""Request metrics, the ``x-sstar-overhead-ms`` header, and ``GET /metrics``.

``MetricsMiddleware`` (pure ASGI, like the request log: Starlette's ``BaseHTTPMiddleware``
would hide ``http.disconnect``) starts the request's wait clock (``proxy.overhead``), and when
the response's status line goes out it takes the overhead: the time so far minus the time an
upstream call or a sandbox run was in flight. The answers of the routes that go through the
upstream (chat, completions, embeddings, models) carry it as ``x-sstar-overhead-ms``; elsewhere
it would only be the whole time, and on a trace lookup a timing that an unknown run id's 404
must not differ by (``access.py``). When the request ends it records the
request by route *template* (``/v1/models/{model_id:path}``; ``unmatched`` for a path no route
knows, so a client cannot mint series), method and status (499 for a client that left, 408 for
one the server cut for reading too slowly, as in the request log), and its latency and overhead
labelled with ``x-sstar-applied`` (``true``, ``false``, ``none`` where S* is not a question).

``GET /metrics`` is Prometheus' text format from the app's own registry. It needs a client key
like every OpenAI route (when ``SSTAR_API_KEYS`` is set) unless ``SSTAR_METRICS_PUBLIC=true``
opens it for a scraper that holds no key.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from fastapi import APIRouter, Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proxy.api.deps import require_client_key
from proxy.logs import READ_TIMED_OUT
from proxy.metrics import UNMATCHED, Metrics
from proxy.overhead import WaitClock, start_clock, stop_clock
from proxy.settings import Settings

OVERHEAD_HEADER = b"x-sstar-overhead-ms"


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The template of the route that served (or would serve) the request, else ``unmatched``.

    The router records its route in the scope; a request answered before routing (a CORS
    preflight, a 413) is matched here, a path match with another method included."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for candidate in routes:
        found = getattr(candidate, "path", None)
        if isinstance(found, str) and candidate.matches(scope)[0] is not Match.NONE:
            return found
    return UNMATCHED


class MetricsMiddleware:
    """Times every HTTP request, adds ``x-sstar-overhead-ms``, records it in ``metrics``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        routes: Sequence[BaseRoute],
        overhead_paths: Collection[str],
    ) -> None:
        """``routes`` name the requests answered before routing; ``overhead_paths`` are the
        route templates whose answers carry ``x-sstar-overhead-ms``."""
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.overhead_paths = overhead_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        clock = WaitClock()
        token = start_clock(clock)
        started = time.perf_counter()
        seen = _Seen()

        async def receive_watching() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and not seen.finished:
                seen.disconnected = True
            return message

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.start(message, time.perf_counter() - started - clock.waited_s())
                headers = [h for h in message.get("headers", []) if h[0] != OVERHEAD_HEADER]
                if getattr(scope.get("route"), "path", None) in self.overhead_paths:
                    headers.append((OVERHEAD_HEADER, f"{seen.overhead_ms:.1f}".encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                seen.finished = True
            await send(message)

        try:
            await self.app(scope, receive_watching, send_timed)
        finally:
            stop_clock(token)
            self.metrics.request_done(
                route=route_template(scope, self.routes),
                method=scope["method"],
                status=seen.final_status(scope),
                sstar=seen.sstar,
                duration_s=time.perf_counter() - started,
                overhead_s=seen.overhead_ms / 1000 if seen.started else None,
            )


class _Seen:
    """What the middleware saw of one response."""

    def __init__(self) -> None:
        self.status = 500
        self.sstar = "none"
        self.overhead_ms = 0.0
        self.started = False
        self.finished = False
        self.disconnected = False

    def start(self, message: Message, overhead_s: float) -> None:
        self.started = True
        self.status = message["status"]
        self.overhead_ms = max(0.0, overhead_s) * 1000
        for name, value in message.get("headers", []):
            if name == b"x-sstar-applied" and value in (b"true", b"false"):
                self.sstar = value.decode()

    def final_status(self, scope: Scope) -> int:
        if READ_TIMED_OUT in scope.get("extensions", {}):
            return 408
        return 499 if self.disconnected else self.status


async def _metrics_access(request: Request) -> None:
    """The client key, unless ``SSTAR_METRICS_PUBLIC`` opens ``/metrics`` to any scraper."""
    settings: Settings = request.app.state.settings
    if not settings.metrics_public:
        await require_client_key(request)


metrics_routes = APIRouter()


@metrics_routes.get("/metrics", dependencies=[Depends(_metrics_access)], tags=["operations"])
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latency and the proxy's overhead, S* runs, sandbox
    executions, upstream errors, the embedded model's health (README "Operations")."""
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
