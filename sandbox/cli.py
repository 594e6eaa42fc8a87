"""``python -m sandbox``: run one program in the production sandbox, or run the self-test.

    python -m sandbox run PROGRAM.py [--stdin FILE] [--call NAME --args JSON]
                                     [--time-limit S] [--memory-mb M] [--bwrap PATH] --json
    python -m sandbox selftest [--bwrap PATH]
    python -m sandbox serve [--host 127.0.0.1] [--port 8300] [--workers N] [--queue Q] ...

For debugging and operations: ``run`` prints one JSON object with the verdict, outputs, return
value and time; ``selftest`` exits non-zero with the reason when isolation cannot be proven.
``serve`` runs a sandbox worker (``sandbox.service``; ``sstar-sandbox serve`` is the same), with
the shared secret in ``SSTAR_SANDBOX_TOKEN``; it exits 2 when it may not start as configured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.base import ExecutionRequest, Limits
from sandbox.bubblewrap import BubblewrapSandbox
from sandbox.errors import SandboxError
from sandbox.service.config import WorkerConfigError, add_serve_arguments, config_from_args


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bwrap", default="/usr/bin/bwrap", help="bubblewrap executable")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one program once", parents=[common])
    run.add_argument("program", type=Path)
    run.add_argument("--stdin", type=Path, help="file fed to the program's standard input")
    run.add_argument("--call", help="function mode: entry point (name or Solution.method)")
    run.add_argument("--args", default="[]", help="function mode: JSON array of arguments")
    run.add_argument("--time-limit", type=float, default=5.0, help="wall and CPU seconds")
    run.add_argument("--memory-mb", type=int, default=256)
    run.add_argument("--json", action="store_true", help="print the result as JSON (default)")
    commands.add_parser("selftest", help="prove isolation works on this machine", parents=[common])
    serve = commands.add_parser(
        "serve", help="serve the sandbox to proxies over HTTP (a worker)", parents=[common]
    )
    add_serve_arguments(serve)
    return parser


def _request(args: argparse.Namespace) -> ExecutionRequest:
    limits = Limits(
        wall_time_s=args.time_limit, cpu_time_s=args.time_limit, memory_mb=args.memory_mb
    )
    program = args.program.read_text()
    if args.call:
        return ExecutionRequest(
            program, (args.args,), mode="function", entry_point=args.call, limits=limits
        )
    stdin = args.stdin.read_text() if args.stdin else ""
    return ExecutionRequest(program, (stdin,), limits=limits)


async def _run(args: argparse.Namespace) -> int:
    sandbox = await BubblewrapSandbox.create(workers=1, warm_sessions=0, bwrap=args.bwrap)
    try:
        run = (await sandbox.run(_request(args))).runs[0]
    finally:
        await sandbox.aclose()
    return_value = json.loads(run.return_json) if run.return_json is not None else None
    report = {
        "status": str(run.status),
        "stdout": run.stdout,
        "stderr": run.stderr,
        "return_value": return_value,
        "error": run.error,
        "time_s": run.time_s,
        "truncated": run.truncated,
    }
    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    return 0


async def _selftest(args: argparse.Namespace) -> int:
    sandbox = await BubblewrapSandbox.create(workers=1, warm_sessions=0, bwrap=args.bwrap)
    await sandbox.aclose()
    sys.stdout.write("sandbox self-test passed\n")
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except WorkerConfigError as exc:
        sys.stderr.write(f"sstar-sandbox: {exc}\n")
        return 2
    from sandbox.service.server import serve  # NOTE: the web stack only for the worker

    return serve(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status (2: sandbox unavailable)."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    try:
        return asyncio.run(_run(args) if args.command == "run" else _selftest(args))
    except SandboxError as exc:
        sys.stderr.write(f"sandbox unavailable: {exc}\n")
        return 2
