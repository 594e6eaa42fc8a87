"""``sstar-proxy serve``: load settings (flags > env > YAML), configure logging, run uvicorn.

Flags override ``SSTAR_*`` environment variables, which override the YAML file. What to serve
when no upstream is configured is decided in ``check_servable`` alone, so the embedded local
model can later be started there instead of refusing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import yaml
from pydantic import ValidationError

from proxy.settings import ConfigError, Settings

NO_UPSTREAM = (
    "sstar-proxy: no upstream model is configured. Set SSTAR_UPSTREAM_API_BASE to an "
    "OpenAI-compatible server (e.g. SSTAR_UPSTREAM_API_BASE=http://localhost:8080/v1), pass "
    "--upstream-api-base, or map models in a YAML file given with --config / SSTAR_CONFIG."
)


class UsageError(Exception):
    """The command cannot start as configured; the message says what to change."""


def check_servable(settings: Settings) -> None:
    """Refuse to start without an upstream (until the embedded local model is wired in here)."""
    if not settings.has_upstream:
        raise UsageError(NO_UPSTREAM)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sstar-proxy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the OpenAI-compatible proxy")
    serve.add_argument("--host", help="bind address (SSTAR_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (SSTAR_PORT, default 8000)")
    serve.add_argument("--upstream-api-base", help="OpenAI-compatible base URL (with /v1)")
    serve.add_argument("--config", help="YAML config file (SSTAR_CONFIG)")
    serve.add_argument("--log-format", choices=["json", "console"])
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from flags, env and YAML; configuration mistakes become a ``UsageError``."""
    try:
        return Settings.load(
            args.config,
            host=args.host,
            port=args.port,
            upstream_api_base=args.upstream_api_base,
            log_format=args.log_format,
            log_level=args.log_level,
        )
    except (ConfigError, ValidationError, yaml.YAMLError) as exc:
        raise UsageError(f"sstar-proxy: invalid configuration:\n{exc}") from exc


def serve(settings: Settings) -> None:
    """Run the proxy in this process until interrupted."""
    import uvicorn

    from proxy.app import create_app
    from proxy.logs import configure_logging

    configure_logging(log_format=settings.log_format, level=settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Console script entry point; returns the process exit status."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args)
        check_servable(settings)
    except UsageError as exc:
        print(exc, file=sys.stderr)  # noqa: T201 - a CLI talks to its user
        return 2
    serve(settings)
    return 0
