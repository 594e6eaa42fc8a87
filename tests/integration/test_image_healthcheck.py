"""The Dockerfile's HEALTHCHECK command, run as written against a real server.

Docker is not on the development machines, so the image is never built here; its health check
is a plain command, and this runs it: healthy when the proxy answers on ``SSTAR_PORT``, unhealthy
when nothing does (the port changed with ``docker run -e SSTAR_PORT=...`` is the one asked).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from proxy.app import create_app
from tests.fakes import RefusingSandbox
from tests.servers import ServerThread

DOCKERFILE = (Path(__file__).parents[2] / "Dockerfile").read_text()


def _healthcheck() -> tuple[str, list[str]]:
    """The HEALTHCHECK instruction's options and its command (exec form)."""
    joined = DOCKERFILE.replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK (.*?) CMD (\[.*\])$", joined, re.M)
    assert match is not None
    return match.group(1), json.loads(match.group(2))


def _run(command: list[str], port: int) -> int:
    assert command[0] == "python"
    env = {**os.environ, "SSTAR_PORT": str(port), "HTTP_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30, check=False
    )
    return done.returncode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_health_check_asks_the_configured_port(make_settings) -> None:
    options, command = _healthcheck()
    assert "--start-period=" in options
    with ServerThread(create_app(make_settings(), sandbox=RefusingSandbox())) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert _run(command, port) == 0
    assert _run(command, _free_port()) != 0


def test_tini_is_pid_1_and_the_user_is_numeric() -> None:
    assert re.search(r'^ENTRYPOINT \["/usr/bin/tini", "--"\]$', DOCKERFILE, re.M)
    assert re.search(r"^USER \d+:\d+$", DOCKERFILE, re.M)
    assert "SSTAR_ENVIRONMENT=production" in DOCKERFILE
