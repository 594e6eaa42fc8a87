"""``sstar-proxy serve``: load settings (flags > env > YAML), configure logging, run uvicorn.

Flags override ``SSTAR_*`` environment variables, which override the YAML file. With no upstream
configured, the embedded local model is prepared (once; cached) and supervised for as long as the
proxy runs (``embedded_upstream``), so the proxy works out of the box without a key or a GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, get_args

import yaml
from pydantic import ValidationError

from proxy.errors import ConfigError
from proxy.settings import LocalModelName, ModelRoute, Settings

if TYPE_CHECKING:
    from proxy.local_model import LocalModelServer

EMBEDDED_HINT = (
    "To use another model instead, set SSTAR_UPSTREAM_API_BASE to an OpenAI-compatible server "
    "(e.g. http://localhost:8000/v1 for vLLM), pass --upstream-api-base, or map models in a "
    "YAML file given with --config / SSTAR_CONFIG."
)


AUX_SLOTS = 4
"""Decoding slots of the auxiliary model: the tournament judges a few pairs at once."""


class UsageError(Exception):
    """The command cannot start as configured; the message says what to change."""


def _say(message: str) -> None:
    print(f"sstar-proxy: {message}", file=sys.stderr)  # noqa: T201 - a CLI talks to its user


def embedded_settings(
    settings: Settings, api_base: str, *, aux_api_base: str | None = None
) -> Settings:
    """``settings`` for serving through the embedded llama-server at ``api_base``, and through
    the auxiliary model's at ``aux_api_base`` when ``local_aux_model`` is served.

    llama.cpp reports one choice's tokens for ``n`` > 1 (so usage is recounted). The auxiliary
    model is routed by its name and does S*'s input synthesis and judging. The judging model
    picks the judge style unless it is set: the 0.5B model's answer follows the program order,
    so it gets the one-token ``scored`` judge (position bias cancelled, 1 token per call); the
    1.5B model keeps the ``reasoned`` judge (measurements in bench/README.md).
    """
    update: dict[str, object] = {"upstream_api_base": api_base, "upstream_is_llama_cpp": True}
    if settings.upstream_kind is None:
        update["upstream_kind"] = "embedded"
    judging = settings.local_model
    aux = settings.local_aux_model
    if aux is not None and aux_api_base is not None:
        route = ModelRoute(model=f"openai/{aux}", api_base=aux_api_base)
        update |= {"models": {**settings.models, aux: route}, "aux_model": aux}
        judging = aux
    if "judge" not in settings.model_fields_set and judging == "qwen2.5-coder-0.5b":
        update["judge"] = "scored"
    return settings.model_copy(update=update)


@contextmanager
def embedded_upstream(settings: Settings) -> Iterator[Settings]:
    """The settings to serve with: as given, or pointing at the supervised embedded model(s)."""
    with embedded_models(settings) as (served, _servers):
        yield served


@contextmanager
def embedded_models(
    settings: Settings,
) -> Iterator[tuple[Settings, tuple[LocalModelServer, ...]]]:
    """``embedded_upstream``, and the supervised model servers (none with an upstream), whose
    health ``/metrics`` reports."""
    if settings.has_upstream:
        yield settings, ()
        return
    from proxy.local_model import LocalModelError

    _say(f"no upstream configured; starting the embedded model {settings.local_model}.")
    _say(EMBEDDED_HINT)
    with ExitStack() as servers:
        try:
            sampler = servers.enter_context(
                _embedded_server(settings, settings.local_model, parallel=settings.num_samples)
            )
            aux = None
            aux_model = settings.local_aux_model
            if aux_model is not None and aux_model != settings.local_model:
                aux = servers.enter_context(
                    _embedded_server(settings, aux_model, parallel=AUX_SLOTS)
                )
        except LocalModelError as exc:
            raise UsageError(f"sstar-proxy: the embedded model could not start: {exc}") from exc
        running = tuple(server for server in (sampler, aux) if server is not None)
        for server in running:
            _say(f"embedded model {server.model_name} serving at {server.api_base}")
        served = embedded_settings(
            settings, sampler.api_base, aux_api_base=aux.api_base if aux is not None else None
        )
        yield served, running


@contextmanager
def _embedded_server(
    settings: Settings, model: LocalModelName, *, parallel: int
) -> Iterator[LocalModelServer]:
    """One prepared and supervised embedded model, stopped on exit."""
    from proxy.local_model import LocalModelServer, prepare_local_model

    prepared = prepare_local_model(model, settings.cache_dir, isa=settings.local_model_isa)
    server = LocalModelServer(
        prepared, threads=settings.local_model_threads, parallel=max(parallel, 4)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


DESCRIPTION = """\
An OpenAI-compatible proxy: requests for a self-contained program are answered with S*
test-time scaling (sample, test in a sandbox, debug, select); everything else passes through."""

SERVE_DESCRIPTION = """\
Serve the proxy at http://HOST:PORT/v1. With no upstream configured (--upstream-api-base,
SSTAR_UPSTREAM_API_BASE, or models in a --config file), the embedded model is prepared once
(cached, by default in ~/.cache/sstar-proxy) and served."""

EPILOG = """\
Settings: flags override SSTAR_* environment variables, which override the YAML file given
with --config. Every setting is described in README.md."""


def _parser() -> argparse.ArgumentParser:
    from proxy import __version__

    parser = argparse.ArgumentParser(
        prog="sstar-proxy",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, title="commands", metavar="COMMAND"
    )
    serve = commands.add_parser(
        "serve",
        help="serve the OpenAI-compatible proxy",
        description=SERVE_DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="bind address (SSTAR_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (SSTAR_PORT, default 8000)")
    serve.add_argument(
        "--upstream-api-base",
        metavar="URL",
        help="an OpenAI-compatible server, with /v1 (SSTAR_UPSTREAM_API_BASE)",
    )
    serve.add_argument("--config", metavar="FILE", help="YAML config file (SSTAR_CONFIG)")
    serve.add_argument(
        "--local-model",
        choices=get_args(LocalModelName),
        help="embedded model used when no upstream is configured (SSTAR_LOCAL_MODEL)",
    )
    serve.add_argument(
        "--local-aux-model",
        choices=get_args(LocalModelName),
        help="a second embedded model for input synthesis and judging (SSTAR_LOCAL_AUX_MODEL)",
    )
    serve.add_argument(
        "--log-format", choices=["json", "console"], help="log lines (SSTAR_LOG_FORMAT)"
    )
    serve.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="least severe level logged (SSTAR_LOG_LEVEL)",
    )
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from flags, env and YAML; configuration mistakes become a ``UsageError``."""
    try:
        return Settings.load(
            args.config,
            host=args.host,
            port=args.port,
            upstream_api_base=args.upstream_api_base,
            local_model=args.local_model,
            local_aux_model=args.local_aux_model,
            log_format=args.log_format,
            log_level=args.log_level,
        )
    except ValidationError as exc:
        raise UsageError(f"sstar-proxy: invalid configuration:\n{_problems(exc)}") from exc
    except (ConfigError, yaml.YAMLError) as exc:
        raise UsageError(f"sstar-proxy: invalid configuration:\n{exc}") from exc


def _problems(error: ValidationError) -> str:
    """One line per problem, naming the setting; never the values given (they may be keys)."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        message = problem["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in problem["loc"])
        lines.append(f"  {where}: {message}" if where else f"  {message}")
    return "\n".join(lines)


def serve(settings: Settings) -> None:
    """Run the proxy in this process until SIGTERM or SIGINT, then drain and return.

    The server (``proxy.server``) enforces the connection limits and drains in-flight requests
    within ``drain_timeout_s``; it returns normally after a signal, so the embedded model
    server is stopped here before the process exits.
    """
    from proxy.app import create_app
    from proxy.logs import configure_logging
    from proxy.server.config import ServerLimits
    from proxy.server.server import build_server

    configure_logging(log_format=settings.log_format, level=settings.log_level)
    with embedded_models(settings) as (served, models):
        server = build_server(
            create_app(served, model_health=models),
            ServerLimits.from_settings(served),
            host=served.host,
            port=served.port,
        )
        server.run()


def main(argv: Sequence[str] | None = None) -> int:
    """Console script entry point; returns the process exit status."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args)
        serve(settings)
    except UsageError as exc:
        print(exc, file=sys.stderr)  # noqa: T201 - a CLI talks to its user
        return 2
    return 0
