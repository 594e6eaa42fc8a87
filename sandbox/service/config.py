"""``WorkerConfig``: how a sandbox worker serves, from its command line and ``SSTAR_SANDBOX_*``.

Flags win over the environment, which wins over the defaults: ``SSTAR_SANDBOX_HOST`` and
``SSTAR_SANDBOX_PORT`` set the bind address when ``--host``/``--port`` are not given (a container
sets them once for every command). The shared secret comes from ``SSTAR_SANDBOX_TOKEN`` only,
never from a flag: a command line is readable by every user of the machine (``/proc/*/cmdline``).

The token rule: a worker that listens beyond loopback executes whatever its callers send, so it
must authenticate them. Without a token it binds to loopback only (development on one machine);
a non-loopback bind without one is refused before anything starts. A token shorter than
``MIN_TOKEN_CHARS`` is refused too (generate one with ``openssl rand -hex 32``).
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sandbox.service.wire import DEFAULT_MAX_LIMITS, BatchCaps

DEFAULT_PORT = 8300
MIN_TOKEN_CHARS = 16
TOKEN_ENV = "SSTAR_SANDBOX_TOKEN"  # noqa: S105 - the variable's name, not a secret
HOST_ENV = "SSTAR_SANDBOX_HOST"
PORT_ENV = "SSTAR_SANDBOX_PORT"


class WorkerConfigError(Exception):
    """The worker cannot start as configured; the message says what to change."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything ``python -m sandbox serve`` needs; see the module docstring for sources.

    ``workers`` programs execute at once (the sandbox pool's size); ``queue`` more may wait
    inside the worker, beyond which a batch is refused with a 429 (the client tries another
    worker). ``drain_timeout_s`` is how long running batches may finish after SIGTERM.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    queue: int = 1
    token: str | None = field(default=None, repr=False)
    caps: BatchCaps = field(default_factory=BatchCaps)
    drain_timeout_s: float = 30.0
    bwrap: str = "/usr/bin/bwrap"
    selftest_retry_s: float = 30.0
    log_format: str = "json"

    @property
    def capacity(self) -> int:
        """Programs admitted at once: running plus waiting."""
        return self.workers + self.queue


def is_loopback(host: str) -> bool:
    """``127.0.0.0/8``, ``::1`` or ``localhost``: reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _env_port(environ: Mapping[str, str]) -> int:
    raw = environ.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise WorkerConfigError(f"{PORT_ENV}={raw!r} is not a port number (0-65535)")
    return int(raw)


def _token(environ: Mapping[str, str], host: str) -> str | None:
    token = environ.get(TOKEN_ENV, "").strip() or None
    if token is None and not is_loopback(host):
        raise WorkerConfigError(
            f"refusing to listen on {host} without a token: set {TOKEN_ENV} to a shared secret "
            f"(e.g. `openssl rand -hex 32`) on the workers and the proxy, or bind to 127.0.0.1"
        )
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise WorkerConfigError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters")
    return token


def config_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> WorkerConfig:
    """The configuration of ``python -m sandbox serve``; raises ``WorkerConfigError``."""
    env = os.environ if environ is None else environ
    host = args.host or env.get(HOST_ENV, "").strip() or "127.0.0.1"
    port = args.port if args.port is not None else _env_port(env)
    if not 0 <= port <= 65535:
        raise WorkerConfigError(f"--port {port} is not a port number (0-65535)")
    workers = args.workers or max(1, os.cpu_count() or 1)
    queue = args.queue if args.queue is not None else workers
    if workers < 1 or queue < 0:
        raise WorkerConfigError("--workers must be at least 1 and --queue at least 0")
    if args.max_wall_time <= 0 or args.max_memory_mb < 1 or args.drain_timeout < 0:
        raise WorkerConfigError(
            "--max-wall-time and --max-memory-mb must be positive, --drain-timeout at least 0"
        )
    maxima = dataclasses.replace(
        DEFAULT_MAX_LIMITS,
        wall_time_s=args.max_wall_time,
        cpu_time_s=args.max_wall_time,
        memory_mb=args.max_memory_mb,
    )
    return WorkerConfig(
        host=host,
        port=port,
        workers=workers,
        queue=queue,
        token=_token(env, host),
        caps=BatchCaps(max_limits=maxima),
        drain_timeout_s=args.drain_timeout,
        bwrap=args.bwrap,
        log_format=args.log_format,
    )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``serve`` (the token is an environment variable only; see the docstring)."""
    parser.add_argument("--host", help=f"bind address ({HOST_ENV}, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"port ({PORT_ENV}, default {DEFAULT_PORT})")
    parser.add_argument(
        "--workers", type=int, help="programs executed at once (default: one per CPU)"
    )
    parser.add_argument(
        "--queue", type=int, help="programs that may wait beyond those (default: --workers)"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=30.0, help="seconds batches may finish on SIGTERM"
    )
    parser.add_argument(
        "--max-wall-time",
        type=float,
        default=DEFAULT_MAX_LIMITS.wall_time_s,
        help="the most wall (and CPU) seconds a run may ask for",
    )
    parser.add_argument(
        "--max-memory-mb",
        type=int,
        default=DEFAULT_MAX_LIMITS.memory_mb,
        help="the most memory a run may ask for",
    )
    parser.add_argument("--log-format", choices=["json", "console"], default="json")
