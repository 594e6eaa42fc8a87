"""``python -m proxy.local_model prepare|serve``: prepare the embedded model, or run it alone.

``prepare`` prints the resulting paths on stdout (progress goes to stderr); ``serve`` runs the
supervised ``llama-server`` in the foreground for debugging, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from proxy.local_model.catalog import DEFAULT_MODEL, MODELS
from proxy.local_model.errors import LocalModelError
from proxy.local_model.prepare import prepare_local_model
from proxy.local_model.server import LocalModelServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m proxy.local_model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("prepare", "assemble the model and build llama-server (cached)"),
        ("serve", "prepare, then run llama-server on loopback until Ctrl-C"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
        cmd.add_argument("--cache-dir", type=Path, default=None, help="default: user cache")
        cmd.add_argument("--jobs", type=int, default=2, help="compiler jobs for the build")
        cmd.add_argument(
            "--isa",
            choices=("auto", "avx2", "avx512"),
            default="auto",
            help="instruction set of the llama-server build (auto: AVX-512 where available)",
        )
        cmd.add_argument("--quiet", action="store_true", help="no progress output")
    serve = sub.choices["serve"]
    serve.add_argument("--threads", type=int, default=None)
    serve.add_argument("--parallel", type=int, default=8)
    serve.add_argument("--ctx-per-slot", type=int, default=4096)
    serve.add_argument("--port", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        prepared = prepare_local_model(
            args.model, args.cache_dir, progress=not args.quiet, build_jobs=args.jobs, isa=args.isa
        )
        if args.command == "prepare":
            print(f"server_binary={prepared.server_binary}")  # noqa: T201
            print(f"gguf={prepared.gguf}")  # noqa: T201
            print(f"model_name={prepared.model_name}")  # noqa: T201
            return 0
        server = LocalModelServer(
            prepared,
            threads=args.threads,
            parallel=args.parallel,
            ctx_per_slot=args.ctx_per_slot,
            port=args.port,
        )
        with server:
            print(f"api_base={server.api_base} model={server.model_name}", flush=True)  # noqa: T201
            _wait_for_signal()
        return 0
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1


def _wait_for_signal() -> None:
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()


if __name__ == "__main__":
    sys.exit(main())
