"""Concurrent decoding benchmark of the embedded model (llama.cpp's ``llama-server``).

    .venv/bin/python -m bench.local_model                     # 0.5B model, 8 slots, 2 threads
    .venv/bin/python -m bench.local_model --threads 1 --max-tokens 64

S* sends its N samples at once, so what matters is aggregate completion tokens/s when several
requests decode together. In one run, against one server, this measures side by side:

    single       1 request alone                       (the baseline)
    concurrent   8 requests at the same time            (parallel slots, continuous batching)
    n=8          1 request asking for 8 choices          (what litellm sends for ``n``)

Every request generates exactly ``--max-tokens`` tokens (``ignore_eos``) from the same code prompt
at temperature 0.8, so the rows differ only in how decoding is scheduled. The ratio printed is
concurrent / single (goal >= 3x). The machine's load average is printed too: other work on the
same cores changes the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from proxy.local_model import DEFAULT_MODEL, MODELS, LocalModelServer, prepare_local_model

PROMPT = (
    "Write a Python function `longest_palindrome(s: str) -> str` that returns the longest "
    "palindromic substring of s. Explain the algorithm briefly, then give the code."
)


@dataclass(frozen=True)
class Row:
    """One measured scheduling mode."""

    mode: str
    requests: int
    choices: int
    completion_tokens: int
    wall_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.wall_s if self.wall_s else 0.0


async def _complete(
    http: httpx.AsyncClient, server: LocalModelServer, **extra: object
) -> dict[str, Any]:
    body = {
        "model": server.model_name,
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0.8,
        "ignore_eos": True,
        **extra,
    }
    response = await http.post(f"{server.api_base}/chat/completions", json=body)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


async def _measure(
    http: httpx.AsyncClient, server: LocalModelServer, mode: str, requests: int, n: int, tokens: int
) -> Row:
    started = time.perf_counter()
    replies = await asyncio.gather(
        *(_complete(http, server, n=n, max_tokens=tokens, seed=1000 + i) for i in range(requests))
    )
    wall = time.perf_counter() - started
    return Row(
        mode=mode,
        requests=requests,
        choices=sum(len(r["choices"]) for r in replies),
        completion_tokens=sum(r["usage"]["completion_tokens"] for r in replies),
        wall_s=wall,
    )


async def run(server: LocalModelServer, *, concurrency: int, tokens: int) -> list[Row]:
    """Warm up, then measure single, concurrent and n=concurrency against ``server``."""
    async with httpx.AsyncClient(timeout=600) as http:
        await _complete(http, server, max_tokens=8)  # warm-up: page in weights, prompt cache
        return [
            await _measure(http, server, "single", 1, 1, tokens),
            await _measure(http, server, "concurrent", concurrency, 1, tokens),
            await _measure(http, server, f"n={concurrency}", 1, concurrency, tokens),
        ]


def render(rows: Sequence[Row], *, header: str) -> str:
    """A markdown table plus the concurrent/single ratio."""
    base = rows[0].tokens_per_s
    lines = [
        header,
        "",
        "| mode | requests | choices | completion tokens | wall s | tokens/s | vs single |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row.tokens_per_s / base if base else 0.0
        lines.append(
            f"| {row.mode} | {row.requests} | {row.choices} | {row.completion_tokens} | "
            f"{row.wall_s:.1f} | {row.tokens_per_s:.1f} | {ratio:.2f}x |"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.local_model", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None, help="default: the server's")
    parser.add_argument("--parallel", type=int, default=8, help="llama-server slots")
    parser.add_argument("--concurrency", type=int, default=8, help="requests at once, and n")
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens per choice")
    parser.add_argument(
        "--server-args", default="", help='extra llama-server flags, e.g. "--ubatch-size 256"'
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prepared = prepare_local_model(args.model, args.cache_dir)
    server = LocalModelServer(
        prepared,
        threads=args.threads,
        parallel=args.parallel,
        ctx_per_slot=1024,
        extra_args=shlex.split(args.server_args),
    )
    with server:
        rows = asyncio.run(run(server, concurrency=args.concurrency, tokens=args.max_tokens))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    header = (
        f"{args.model}, {server.threads} threads, {args.parallel} slots, "
        f"{args.max_tokens} tokens per choice, extra args [{args.server_args}], "
        f"load average after the run: {load} on {os.cpu_count()} CPUs"
    )
    print(render(rows, header=header))
    single, concurrent = rows[0].tokens_per_s, rows[1].tokens_per_s
    print(f"\nconcurrent/single = {concurrent / single:.2f}x (goal >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
