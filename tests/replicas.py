"""``python -m proxy serve`` as an operator runs it: a real proxy process on a loopback port.

For tests of what only a whole process shows (signals, memory, several replicas sharing Redis).
The environment is ``tests.children``'s; the log goes to a file.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.children import LoopbackChild, child_environment

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ProxyProcess(LoopbackChild):
    """``ProxyProcess(log_path, SSTAR_X="1").start()`` ... ``.stop()``; ``url`` is its base URL."""

    def __init__(self, log: Path, **env: str) -> None:
        super().__init__()
        self.log = log
        self.env = env

    def start(self, *, timeout: float = 60.0) -> ProxyProcess:
        """Start the process and wait until ``/health`` answers."""
        self.port = free_port()
        environ = child_environment(LITELLM_LOCAL_MODEL_COST_MAP="True", **self.env)
        with self.log.open("ab") as stderr:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "proxy", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=environ,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + timeout
        while True:
            assert self._process.poll() is None, self.log.read_text()[-4000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        """Kill the process if it still runs (a test that drains it sends its own signal)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
