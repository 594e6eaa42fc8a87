"""Serving a sandbox worker: structured logs, the listening socket, uvicorn with a drain.

On SIGTERM (or Ctrl-C) ``WorkerServer`` marks the worker draining, so ``/ready`` turns 503 and a
batch arriving on a kept-alive connection is refused with a 503 (the client sends it to another
worker), while uvicorn stops accepting connections and lets the running batches finish for up
to ``drain_timeout_s``. Batches still running then are cancelled (their runs killed; the client
retries them elsewhere, execution being idempotent). The lifespan closes the sandbox, and the
process exits 0 instead of re-raising the signal as uvicorn would (a clean exit is what an
orchestrator expects from a graceful stop).

Connections are kept alive 75 s: longer than any client pool keeps an idle one (httpx: 5 s), so
a client never sends a batch on a connection the worker is closing.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import sys
from collections.abc import Iterator

import structlog
import uvicorn

from sandbox.service.app import WorkerState, bubblewrap_opener, build_worker_app
from sandbox.service.config import WorkerConfig
from sandbox.service.holder import SandboxHolder

log = structlog.get_logger(__name__)

KEEP_ALIVE_S = 75


def configure_logging(log_format: str) -> None:
    """structlog events and the stdlib's records (uvicorn's, the sandbox's) as one stream."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            structlog.processors.dict_tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                stamp,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)


class WorkerServer(uvicorn.Server):
    """uvicorn's server that marks the worker draining first and exits normally after."""

    def __init__(self, config: uvicorn.Config, *, state: WorkerState) -> None:
        super().__init__(config)
        self.state = state

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.state.draining = True
        log.info(
            "worker_draining",
            in_flight=self.state.in_flight,
            drain_timeout_s=self.state.config.drain_timeout_s,
        )
        await super().shutdown(sockets)
        log.info("worker_stopped")

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                # NOTE: uvicorn re-raises the captured signal after a graceful shutdown, so the
                # process would die of it (143); the shutdown already happened: exit 0 instead.
                self._captured_signals.clear()


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one, logged)."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def serve(config: WorkerConfig) -> int:
    """Run the worker until SIGTERM/SIGINT; the exit status (0 after a graceful stop)."""
    configure_logging(config.log_format)
    try:
        sock = listen(config.host, config.port)
    except OSError as exc:
        log.error("worker_bind_failed", host=config.host, port=config.port, reason=str(exc))
        return 1
    state = WorkerState(
        config=config,
        holder=SandboxHolder(bubblewrap_opener(config), retry_s=config.selftest_retry_s),
    )
    server = WorkerServer(
        uvicorn.Config(
            build_worker_app(state),
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
            ws="none",
            timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=math.ceil(config.drain_timeout_s),
        ),
        state=state,
    )
    log.info(
        "worker_listening",
        host=config.host,
        port=sock.getsockname()[1],
        workers=config.workers,
        queue=config.queue,
        authenticated=config.token is not None,
    )
    server.run(sockets=[sock])
    return 0
