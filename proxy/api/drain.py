"""Graceful shutdown, the app's side: what is still running when the drain time is up is ended
properly instead of cut.

The server (``proxy.server.server.ProxyServer``) calls ``Drain.begin()`` when shutdown starts
(it accepts no new connections; in-flight requests go on) and ``Drain.expire()`` when
``drain_timeout_s`` has passed. ``expire`` cancels every request still running, which releases
what it holds the same way a client disconnect does (the upstream call is closed, the S* run's
subscription released), and ``DrainMiddleware`` answers for it:

- nothing sent yet (a JSON request waiting for its upstream or its S* run): a 503 with OpenAI's
  error body and ``x-should-retry: true``, since another instance can answer it;
- a stream that started: one ``data: {"error": {...}}`` event and ``data: [DONE]``, like any
  stream that fails midway (``sse.py``);
- anything else (a JSON body half sent): nothing to add; the connection closes.

One middleware rather than a check in every place that waits: every route and every wait is
covered, including the ones added later.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proxy.api.handlers import error_response
from proxy.api.sse import DONE, error_event
from proxy.errors import ServerShuttingDownError

log = structlog.get_logger(__name__)


class Drain:
    """Shutdown state shared by the server, which drives it, and ``DrainMiddleware``."""

    def __init__(self) -> None:
        self.draining = False
        self.expired = False
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def begin(self) -> None:
        """Shutdown started: requests in flight may finish."""
        self.draining = True

    def expire(self) -> int:
        """The drain time is up: end every request still running; returns how many."""
        self.expired = True
        running = list(self._running)
        for task in running:
            task.cancel("drain timeout")
        return len(running)

    def track(self, task: asyncio.Task[Any]) -> None:
        self._running.add(task)

    def untrack(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)


@dataclass(slots=True)
class _Answer:
    """How far the app got with its answer."""

    started: bool = False
    finished: bool = False
    stream: bool = False

    def see(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.stream = any(
                name.lower() == b"content-type" and value.startswith(b"text/event-stream")
                for name, value in message.get("headers", [])
            )
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            self.finished = True


class DrainMiddleware:
    """Ends the requests ``Drain.expire()`` cancelled with a 503 or an error event (see above)."""

    def __init__(self, app: ASGIApp, *, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)
            return
        answer = _Answer()

        async def send_watched(message: Message) -> None:
            answer.see(message)
            await send(message)

        if not self.drain.expired:
            self.drain.track(task)
            try:
                await self.app(scope, receive, send_watched)
            except asyncio.CancelledError:
                if not self.drain.expired:
                    raise
                task.uncancel()
            finally:
                self.drain.untrack(task)
        if self.drain.expired and not answer.finished:
            await self._end(answer, scope, receive, send)

    @staticmethod
    async def _end(answer: _Answer, scope: Scope, receive: Receive, send: Send) -> None:
        error = ServerShuttingDownError()
        log.warning("request_drained", started=answer.started, stream=answer.stream)
        if not answer.started:
            response = error_response(error)
            response.headers["x-should-retry"] = "true"
            await response(scope, receive, send)
        elif answer.stream and not answer.finished:
            body = error_event(error) + DONE
            await send({"type": "http.response.body", "body": body, "more_body": False})
