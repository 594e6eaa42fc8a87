"""Serve an ASGI app with uvicorn on a free loopback port, in a background thread.

Used for the fake upstream and for end-to-end tests, where the proxy must be a real HTTP server
(the official SDK, real sockets, real disconnects). The socket is bound before the thread starts,
so the port is known at once and never raced for. The server is the proxy's own
(``proxy.server.build_server``): the same protocol and connection limits as ``sstar-proxy serve``.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from proxy.app import create_app
from proxy.server.config import ServerLimits
from proxy.server.server import build_server
from proxy.settings import Settings

if TYPE_CHECKING:
    from tests.fake_upstream import FakeUpstream


class ServerThread:
    """``ServerThread(app).start()`` ... ``.stop()``; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(
        self,
        app: Any,
        *,
        port: int = 0,
        lifespan: Literal["on", "off", "auto"] = "on",
        limits: ServerLimits | None = None,
    ) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port: int = self._socket.getsockname()[1]
        # NOTE: no drain wait by default: stopping a test server ends what is still running.
        limits = limits or ServerLimits(drain_timeout_s=0)
        self._server = build_server(
            app,
            limits,
            lifespan=lifespan,
            timeout_graceful_shutdown=math.ceil(limits.drain_timeout_s) + 1,
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve_proxy(fake: FakeUpstream, **overrides: object) -> ServerThread:
    """The proxy as a real HTTP server on ``fake``, with settings for SDK tests: few samples, one
    debug round, quick keepalives, no retries (``overrides`` change any of them)."""
    values: dict[str, object] = {
        "upstream_api_base": fake.base_url,
        "upstream_retries": 0,
        "log_format": "console",
        "log_level": "warning",
        "num_samples": 3,
        "debug_rounds": 1,
        "deadline_s": 60,
        "keepalive_interval_s": 0.2,
    }
    values.update(overrides)
    return ServerThread(create_app(Settings(**values))).start()  # type: ignore[arg-type]
