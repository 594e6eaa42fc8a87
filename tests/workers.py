"""Sandbox workers (``python -m sandbox serve``) as real subprocesses on free loopback ports.

The worker binds port 0 and logs the port it got (``worker_listening``), so no port is ever raced
for; its log goes to a file the test can read (``events()``). The environment is passed through
(``PYTHONPATH`` reaches the child) without the developer's ``SSTAR_*`` variables; the token, if
any, goes in ``SSTAR_SANDBOX_TOKEN`` as in production.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.children import LoopbackChild, child_environment

TOKEN = "test-sandbox-token-0123456789abcdef"  # noqa: S105 - a test secret


class WorkerProcess(LoopbackChild):
    """``WorkerProcess(tmp_path, "--workers", "2").start()`` ... ``.stop()``."""

    def __init__(self, directory: Path, *args: str, token: str | None = TOKEN) -> None:
        super().__init__()
        self.log_path = directory / f"worker-{time.monotonic_ns()}.log"
        self._args = args
        self.token = token

    def headers(self, token: str | None = None) -> dict[str, str]:
        value = token or self.token
        return {"authorization": f"Bearer {value}"} if value else {}

    def start(self, *, ready: bool = True, timeout: float = 60.0) -> WorkerProcess:
        env = child_environment(**({"SSTAR_SANDBOX_TOKEN": self.token} if self.token else {}))
        argv = [sys.executable, "-m", "sandbox", "serve", "--port", "0", *self._args]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(argv, stderr=log, stdout=log, env=env)
        deadline = time.monotonic() + timeout
        while not self.port:
            self._check_alive(deadline)
            self.port = next(
                (e["port"] for e in self.events() if e.get("event") == "worker_listening"), 0
            )
            time.sleep(0.05)
        if ready:
            self.wait_ready(deadline)
        return self

    def _check_alive(self, deadline: float) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited {self.process.returncode}: {self.text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start: {self.text()}")

    def wait_ready(self, deadline: float) -> None:
        while True:
            self._check_alive(deadline)
            try:
                if httpx.get(self.url + "/ready", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self) -> list[dict[str, Any]]:
        """The worker's structured log so far (JSON lines; anything else is skipped)."""
        found = []
        for line in self.text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                found.append(event)
        return found

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-whatever, as on a node failure."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        try:
            self.terminate(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
