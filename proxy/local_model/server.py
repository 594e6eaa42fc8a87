"""Supervise llama.cpp's ``llama-server`` as a child process on loopback.

The supervisor picks a free port once (so ``api_base`` stays valid across restarts), starts the
child, waits for ``/health`` to answer 200 (it answers 503 while the model loads), restarts the
child if it dies, and stops it with the proxy. It runs in a thread, not in an event loop, so it
works the same from the proxy's lifespan, from a sync pytest session fixture and from the CLI.

The child gets ``PR_SET_PDEATHSIG`` so a hard-killed proxy does not leave a model server behind,
and ``OMP_WAIT_POLICY=PASSIVE`` so idle OpenMP workers sleep instead of spinning on shared cores.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

from proxy.local_model.errors import ServerStartError
from proxy.local_model.prepared import PreparedModel

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.1


class LocalModelServer:
    """A supervised ``llama-server``: ``with LocalModelServer(model) as srv: use(srv.api_base)``.

    Args:
        model: the prepared binary + GGUF + public model name (also served as the model alias).
        threads: CPU threads for decoding; ``None`` means ``min(2, os.cpu_count())``.
        parallel: decoding slots; concurrent requests (and the choices of an ``n`` > 1 request)
            are batched together up to this many. S* sends N samples at once, so keep it >= N.
        ctx_per_slot: context tokens per slot; the total context is ``parallel * ctx_per_slot``.
        host: loopback by default; the server has no authentication, never expose it.
        port: ``None`` picks a free port once, kept across restarts.
        startup_timeout: seconds to wait for ``/health`` after each (re)start.
        max_restarts: how often a dying child is restarted before the supervisor gives up.
        extra_args: appended to the ``llama-server`` command line (for tuning and debugging).
        log_path: where the child's output goes; ``None`` uses a temp file removed on stop.
    """

    def __init__(
        self,
        model: PreparedModel,
        *,
        threads: int | None = None,
        parallel: int = 8,
        ctx_per_slot: int = 4096,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 120.0,
        max_restarts: int = 5,
        extra_args: Sequence[str] = (),
        log_path: Path | None = None,
    ) -> None:
        if parallel < 1 or ctx_per_slot < 256:
            raise ValueError("parallel must be >= 1 and ctx_per_slot >= 256")
        self.model = model
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.parallel = parallel
        self.ctx_per_slot = ctx_per_slot
        self.host = host
        self.port = port or 0
        self.startup_timeout = startup_timeout
        self.max_restarts = max_restarts
        self.extra_args = tuple(extra_args)
        self._log_path = log_path
        self._own_log = log_path is None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self.restarts = 0
        self.failure: str | None = None

    # -- public surface ---------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self.model.model_name

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:41234/v1``."""
        return f"{self.base_url}/v1"

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        """Whether the child is alive and supervised now (``/metrics`` reads it at every scrape,
        so it only polls the process: no request). ``False`` while a dead child awaits its
        restart, after the supervisor gave up, and once stopped."""
        return self.pid is not None and not self._stopping.is_set()

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def command(self) -> list[str]:
        """The child's command line (the port must be chosen already)."""
        return [
            str(self.model.server_binary),
            "--model",
            str(self.model.gguf),
            "--alias",
            self.model.model_name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--threads",
            str(self.threads),
            "--threads-batch",
            str(self.threads),
            "--parallel",
            str(self.parallel),
            "--ctx-size",
            str(self.parallel * self.ctx_per_slot),
            "--cont-batching",
            "--no-webui",
            "--offline",  # never reach for a model hub (none is reachable here anyway)
            *self.extra_args,
        ]

    def start(self) -> None:
        """Start the child and block until it is healthy; raises ServerStartError otherwise.

        The child is spawned by the supervisor thread, which lives until ``stop()``: the kernel
        sends ``PR_SET_PDEATHSIG`` when the *thread* that forked the child exits, so spawning
        from a short-lived thread (e.g. ``asyncio.to_thread``) would kill the child early.
        """
        if self._monitor is not None:
            raise RuntimeError("LocalModelServer.start() called twice")
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="sstar-llama-server-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        if not self.port:
            self.port = _free_port(self.host)
        ready = threading.Event()
        errors: list[BaseException] = []
        self._monitor = threading.Thread(
            target=self._run, args=(ready, errors), name="llama-server-supervisor", daemon=True
        )
        self._monitor.start()
        ready.wait()
        if errors:
            self.stop()
            raise errors[0]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop supervising and terminate the child (SIGTERM, then SIGKILL after ``timeout``)."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            _terminate(proc, timeout)
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout)
        if self._own_log and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)

    def is_healthy(self) -> bool:
        """One ``GET /health``: True when the model is loaded and the server answers 200."""
        try:
            return httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the child's output, for error messages."""
        if self._log_path is None or not self._log_path.is_file():
            return ""
        with self._log_path.open(errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def astart(self) -> None:
        """``start()`` without blocking the event loop."""
        import asyncio

        await asyncio.to_thread(self.start)

    async def aclose(self) -> None:
        """``stop()`` without blocking the event loop."""
        import asyncio

        await asyncio.to_thread(self.stop)

    async def __aenter__(self) -> LocalModelServer:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- supervision ------------------------------------------------------------------------

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        """The supervisor thread: first start (reported to ``start()``), then supervision."""
        try:
            self._spawn_and_wait()
        except BaseException as exc:  # handed to start(), which re-raises it in the caller
            errors.append(exc)
            return
        finally:
            ready.set()
        self._supervise()

    def _spawn_and_wait(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                raise ServerStartError("llama-server is stopping; not starting it again")
            self._proc = self._spawn()
        self._wait_healthy(self._proc)

    def _spawn(self) -> subprocess.Popen[bytes]:
        assert self._log_path is not None  # noqa: S101 - set in start()
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        _libc()  # load before fork, see _die_with_parent
        with self._log_path.open("ab") as log:
            try:
                return subprocess.Popen(  # noqa: S603 - our cached binary, fixed arguments
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    preexec_fn=_die_with_parent,  # only a prctl call (libc loaded beforehand)
                )
            except OSError as exc:
                raise ServerStartError(
                    f"cannot execute {self.model.server_binary}: {exc}; run "
                    "`python -m proxy.local_model prepare` to (re)build it"
                ) from exc

    def _wait_healthy(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._stopping.is_set():
                raise ServerStartError("llama-server start interrupted by stop()")
            if proc.poll() is not None:
                raise ServerStartError(
                    f"llama-server exited with code {proc.returncode} while starting "
                    f"({self.model.gguf.name}). Its last output:\n{self.log_tail()}"
                )
            if self.is_healthy():
                logger.info("local model server healthy at %s (pid %d)", self.api_base, proc.pid)
                return
            time.sleep(_POLL_S)
        raise ServerStartError(
            f"llama-server did not report healthy on {self.base_url}/health within "
            f"{self.startup_timeout:.0f} s. Its last output:\n{self.log_tail()}"
        )

    def _supervise(self) -> None:
        """Wait for the child; restart it (with backoff) until stopped or out of restarts."""
        while not self._stopping.is_set():
            proc = self._proc
            if proc is None:
                return
            code = proc.wait()
            if self._stopping.is_set():
                return
            if self.restarts >= self.max_restarts:
                self.failure = f"llama-server died (code {code}) {self.restarts + 1} times; gave up"
                logger.error("%s; last output:\n%s", self.failure, self.log_tail())
                return
            self.restarts += 1
            logger.warning("llama-server exited with code %s; restart #%d", code, self.restarts)
            self._stopping.wait(min(0.5 * self.restarts, 5.0))
            try:
                self._spawn_and_wait()
            except ServerStartError as exc:
                logger.error("llama-server restart failed: %s", exc)


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _free_port(host: str) -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel to SIGTERM it when the parent dies.

    Linux-only (the project's platform); libc is loaded in the parent so the forked child only
    makes the system call.
    """
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
