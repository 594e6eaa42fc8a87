"""uvicorn's httptools protocol with the per-connection limits of ``ServerLimits``.

- **Header size.** While a request's headers are incomplete, the bytes fed to the parser are
  counted and never more than ``max_header_bytes`` are fed: httptools accumulates a header value
  in Python bytes until the value ends, so one 50 MB header used to cost 50 MB of memory and
  seconds of parsing even when the answer was a 401. Past the cap the answer is a 431 with
  OpenAI's error body and the connection closes. When the headers end their exact size (request
  line plus every name and value) is checked too: bytes that came in one read with the previous
  request's end are fed uncounted, so this is the backstop.
- **Read deadlines.** A request's headers must all arrive within ``read_timeout_s`` of its first
  byte, and its body within ``read_timeout_s`` of the end of its headers: deadlines, not idle
  timers that each trickled byte would reset. Late headers: 408 and close. A late body: 408 and
  close if the app has not started its answer (the app sees a disconnect and its request log says
  408, see ``proxy.logs``), else close.
- **Idle connections.** A fresh connection that sends nothing is closed after the keep-alive
  timeout, like an idle keep-alive connection (uvicorn arms no timer before the first response).
- **Refusing.** The answer is written, our side shut down, and what the client still sends is
  read and dropped for at most ``LINGER_S`` before the socket closes: closing with unread input
  resets the connection, which can destroy the answer before the client has read it.

Nothing here knows the app: the refusals happen before it sees the request, so before auth.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import httptools
import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle as Cycle
from uvicorn.server import ServerState

from proxy.api.sse import error_payload
from proxy.errors import ClientReadTimeoutError, HeadersTooLargeError, ProxyError
from proxy.logs import READ_TIMED_OUT
from proxy.server.config import ServerLimits

log = structlog.get_logger(__name__)

LINGER_S = 5.0
"""How long a refused connection's remaining input is read and dropped before it is closed."""

_REQUEST_LINE_EXTRA = len(b"  HTTP/1.1\r\n")
_HEADER_LINE_EXTRA = len(b": \r\n")


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; the protocol's ``_refusal`` says why."""


def error_head_and_body(exc: ProxyError, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete ``connection: close`` response carrying ``exc`` as OpenAI's error envelope."""
    body = json.dumps(error_payload(exc), separators=(",", ":")).encode()
    lines = [STATUS_LINE[exc.status_code]]
    headers = [
        *default_headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if exc.should_retry is not None:
        headers.append((b"x-should-retry", b"true" if exc.should_retry else b"false"))
    lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
    return b"".join([*lines, b"\r\n", body])


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """One HTTP/1.1 connection, served by uvicorn, within ``ServerLimits`` (module docstring)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: ServerLimits = getattr(config, "limits", ServerLimits())
        self._awaiting_headers = True  # until this request's headers are complete
        self._header_bytes = 0  # bytes fed while awaiting this request's headers
        self._headers_seen = 0  # requests whose headers completed on this connection
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._refusal: ProxyError | None = None  # set by a callback that raised _Refused
        self._dropping = False  # refused: input is read and dropped until the socket closes

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # NOTE: a connection that never sends a byte is idle like a kept-alive one
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._body_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._dropping:
            return
        self._unset_keepalive_if_required()
        view = memoryview(data)
        while view and not self._dropping and not self.transport.is_closing():
            if not self._awaiting_headers:
                self._feed(view)
                return
            self._arm_header_timer()
            room = self.limits.max_header_bytes - self._header_bytes
            head, view = view[:room], view[room:]
            self._header_bytes += len(head)
            seen = self._headers_seen
            if not self._feed(head):
                return
            if view and self._headers_seen == seen:
                # NOTE: the cap is reached and the headers have not ended: refuse without
                # feeding another byte (the rest of this read is dropped).
                self._refuse(HeadersTooLargeError(self.limits.max_header_bytes))

    def _feed(self, data: memoryview) -> bool:
        """Feed the parser; False when the connection is being closed (error or refusal)."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(self._refusal)
            else:
                message = "Invalid HTTP request received."
                self.logger.warning(message)
                self.send_400_response(message)
            return False
        return not self._dropping and not self.transport.is_closing()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        size = len(self.parser.get_method()) + len(self.url) + _REQUEST_LINE_EXTRA + 2
        size += sum(len(n) + len(v) + _HEADER_LINE_EXTRA for n, v in self.headers)
        if size > self.limits.max_header_bytes:
            self._refusal = HeadersTooLargeError(self.limits.max_header_bytes)
            raise _Refused
        self._awaiting_headers = False
        self._headers_seen += 1
        _cancel(self._header_timer)
        self._header_timer = None
        super().on_headers_complete()
        if self.cycle is not None:
            self._body_timer = self.loop.call_later(
                self.limits.read_timeout_s, self._on_body_timeout, self.cycle
            )

    def on_message_complete(self) -> None:
        super().on_message_complete()
        _cancel(self._body_timer)
        self._body_timer = None
        self._awaiting_headers = True
        self._header_bytes = 0

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.limits.read_timeout_s, self._on_header_timeout
            )

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._awaiting_headers:
            return
        log.info("client_timed_out", phase="headers", status=408, received_bytes=self._header_bytes)
        self._refuse(ClientReadTimeoutError("headers", self.limits.read_timeout_s))

    def _on_body_timeout(self, cycle: Cycle) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        self._dropping = True
        if any(queued is cycle for queued, _ in self.pipeline):
            return  # NOTE: pipelined behind an answer in flight: close after that answer
        if cycle.response_started:  # answered (say, a 413 before reading) or answering: close
            self.transport.close()
            return
        scope = cast("dict[str, Any]", cycle.scope)
        scope.setdefault("extensions", {})[READ_TIMED_OUT] = "body"
        # NOTE: the app now reads ``http.disconnect`` and its sends go nowhere; the 408 is ours.
        cycle.disconnected = True
        cycle.message_event.set()
        self._answer_and_linger(ClientReadTimeoutError("body", self.limits.read_timeout_s))

    def _refuse(self, exc: ProxyError) -> None:
        """Answer ``exc`` and close, unless an answer is in flight here: then close after it."""
        if exc.status_code == HeadersTooLargeError.status_code:
            log.warning("request_refused", status=exc.status_code, code=exc.code)
        self._dropping = True
        if self.cycle is not None and not self.cycle.response_complete:
            return  # NOTE: an answer is in flight: never interleave two; close after it
        self._answer_and_linger(exc)

    def on_response_complete(self) -> None:
        if self._dropping:  # a refusal waited for this answer: close, serve nothing queued
            self.server_state.total_requests += 1
            self.transport.close()
            return
        super().on_response_complete()

    def _answer_and_linger(self, exc: ProxyError) -> None:
        self._dropping = True
        _cancel(self._header_timer)
        self._header_timer = None
        _cancel(self._body_timer)
        self._body_timer = None
        self._unset_keepalive_if_required()
        self.transport.write(error_head_and_body(exc, self.server_state.default_headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._linger_timer = self.loop.call_later(LINGER_S, self.transport.close)


def _cancel(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()
