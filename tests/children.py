"""What the test servers started as real processes share (``workers.py``, ``replicas.py``).

Each runs on a loopback port with this process's environment (so ``PYTHONPATH`` reaches it)
minus the developer's ``SSTAR_*`` variables: a test names every setting it needs.
"""

from __future__ import annotations

import os
import subprocess


def child_environment(**extra: str) -> dict[str, str]:
    """This process's environment without ``SSTAR_*`` variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSTAR_")}
    return env | extra


class LoopbackChild:
    """A server process on a loopback port; subclasses start it and set ``port``."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self._process is not None, "not started"
        return self._process

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
