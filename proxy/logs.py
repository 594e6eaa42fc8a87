"""Structured logs: ``configure_logging()`` and the request-context middleware.

One event per request carries the request id (echoed in ``x-request-id``), method, path,
status, ``duration_ms`` and whatever the handlers bound with
``structlog.contextvars.bind_contextvars`` (``model``, ``mode``): ``request_completed``, or
``client_disconnected`` (status 499) for a client that left before the response finished, or
``client_timed_out`` (status 408) when the server cut a request whose body came too slowly (it
says so in the scope's ``extensions[READ_TIMED_OUT]``; ``proxy.server.protocol``). Headers are
never logged, so neither is ``Authorization`` nor any key.

The middleware is pure ASGI: Starlette's ``BaseHTTPMiddleware`` hides ``http.disconnect`` from the
app, which would break cancellation.
"""

from __future__ import annotations

import logging
import random
import re
import sys
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

READ_TIMED_OUT = "sstar.read_timed_out"
"""Scope extension the server protocol sets when it cut the request for a read timeout."""


def configure_logging(*, log_format: str = "json", level: str = "info") -> None:
    """Set up structlog once per process: JSON in production, coloured console in development."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks
            if log_format == "json"
            else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,  # NOTE: lets tests capture logs after configuration
    )


def _request_id(scope: Scope) -> str:
    """The client's ``x-request-id`` when it is sane, otherwise a fresh one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
    # NOTE: not a secret, so no syscall-backed uuid4: a PRNG id is unique enough and cheaper.
    return f"req_{random.getrandbits(128):032x}"


class RequestContextMiddleware:
    """Binds ``request_id``, echoes it in ``x-request-id`` and logs one event per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state = {"status": 500, "finished": False, "disconnected": False}
        started = time.perf_counter()

        async def receive_watching() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and not state["finished"]:
                state["disconnected"] = True
            return message

        async def send_tagging(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["finished"] = True
            await send(message)

        try:
            await self.app(scope, receive_watching, send_tagging)
        finally:
            status = 499 if state["disconnected"] else state["status"]
            event = "client_disconnected" if status == 499 else "request_completed"
            if READ_TIMED_OUT in scope.get("extensions", {}):
                status, event = 408, "client_timed_out"
            log.info(
                event,
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
