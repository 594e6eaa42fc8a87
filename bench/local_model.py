"""Concurrent decoding benchmark of the embedded model (llama.cpp's ``llama-server``).

    .venv/bin/python -m bench.local_model                     # 0.5B model, 8 slots, 2 threads
    .venv/bin/python -m bench.local_model --threads 1 --max-tokens 64

S* sends its N samples at once, so what matters is aggregate completion tokens/s when several
requests decode together. In one run, against one server, this measures side by side:

    single       1 request alone                       (the baseline)
    concurrent   8 requests at the same time            (parallel slots, continuous batching)
    n=8          1 request asking for 8 choices          (what litellm sends for ``n``)

Each mode is measured ``--rounds`` times in turn (requests and choices in the table are per
round; tokens, wall and CPU time are totals). Every request generates exactly ``--max-tokens``
tokens (``ignore_eos``) from the same code prompt at temperature 0.8, so the rows differ only in
how decoding is scheduled. The ratio printed is concurrent / single (goal >= 3x).

Other work on the same two cores changes wall-clock numbers a lot, so the table also reports
llama-server's own CPU time (from ``/proc``): tokens per CPU-second is what batching buys
regardless of load, and roughly what wall-clock throughput approaches on an idle machine. The load
average is printed with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    cpu_s: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.wall_s if self.wall_s else 0.0

    @property
    def tokens_per_cpu_s(self) -> float:
        """Tokens per CPU-second of llama-server: what batching buys, whatever else runs."""
        return self.completion_tokens / self.cpu_s if self.cpu_s else 0.0


def server_cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process, from ``/proc`` (0.0 when unavailable)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    cpu_before = server_cpu_seconds(server.pid)
    started = time.perf_counter()
    replies = await asyncio.gather(
        *(_complete(http, server, n=n, max_tokens=tokens, seed=1000 + i) for i in range(requests))
    )
    wall = time.perf_counter() - started
    cpu = server_cpu_seconds(server.pid) - cpu_before
    return Row(
        mode=mode,
        requests=requests,
        choices=sum(len(r["choices"]) for r in replies),
        completion_tokens=sum(_completion_tokens(r, tokens) for r in replies),
        wall_s=wall,
        cpu_s=cpu,
    )


def _completion_tokens(reply: dict[str, Any], max_tokens: int) -> int:
    """Tokens generated for every choice of ``reply``.

    llama-server's ``usage`` counts only one choice when ``n`` > 1, so when every choice stopped
    on the length limit (always, with ``ignore_eos``) the count is ``choices * max_tokens``.
    """
    choices = reply["choices"]
    if all(c.get("finish_reason") == "length" for c in choices):
        return len(choices) * max_tokens
    usage: int = reply["usage"]["completion_tokens"]
    return usage


async def run(
    server: LocalModelServer, *, concurrency: int, tokens: int, rounds: int = 1
) -> list[Row]:
    """Warm up, then measure single, concurrent and n=concurrency against ``server``.

    With ``rounds`` > 1 the three modes are measured in turn again and their tokens and wall times
    summed, so a burst of load from other work on the machine hits every mode alike.
    """
    modes = (("single", 1, 1), ("concurrent", concurrency, 1), (f"n={concurrency}", 1, concurrency))
    totals: dict[str, Row] = {}
    async with httpx.AsyncClient(timeout=900) as http:
        await _complete(http, server, max_tokens=8)  # warm-up: page in weights, prompt cache
        for _ in range(rounds):
            for mode, requests, n in modes:
                row = await _measure(http, server, mode, requests, n, tokens)
                if mode in totals:
                    before = totals[mode]
                    row = replace(
                        row,
                        completion_tokens=before.completion_tokens + row.completion_tokens,
                        wall_s=before.wall_s + row.wall_s,
                        cpu_s=before.cpu_s + row.cpu_s,
                    )
                totals[mode] = row
    return [totals[mode] for mode, _, _ in modes]


def render(rows: Sequence[Row], *, header: str) -> str:
    """A markdown table: wall-clock throughput and CPU efficiency, each relative to single."""
    base, base_cpu = rows[0].tokens_per_s, rows[0].tokens_per_cpu_s
    lines = [
        header,
        "",
        "| mode | requests | choices | completion tokens | wall s | tokens/s | vs single "
        "| server CPU s | tokens/CPU-s | vs single |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row.tokens_per_s / base if base else 0.0
        cpu_ratio = row.tokens_per_cpu_s / base_cpu if base_cpu else 0.0
        lines.append(
            f"| {row.mode} | {row.requests} | {row.choices} | {row.completion_tokens} | "
            f"{row.wall_s:.1f} | {row.tokens_per_s:.1f} | {ratio:.2f}x | "
            f"{row.cpu_s:.1f} | {row.tokens_per_cpu_s:.1f} | {cpu_ratio:.2f}x |"
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
    parser.add_argument("--rounds", type=int, default=2, help="measure every mode this often")
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
        rows = asyncio.run(
            run(server, concurrency=args.concurrency, tokens=args.max_tokens, rounds=args.rounds)
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    header = (
        f"{args.model}, {server.threads} threads, {args.parallel} slots, "
        f"{args.max_tokens} tokens per choice, {args.rounds} rounds (totals), "
        f"extra args [{args.server_args}], "
        f"load average after the run: {load} on {os.cpu_count()} CPUs"
    )
    print(render(rows, header=header))
    single, concurrent = rows[0].tokens_per_s, rows[1].tokens_per_s
    print(f"\nconcurrent/single = {concurrent / single:.2f}x (goal >= 3x)")
    cpu_single, cpu_concurrent = rows[0].tokens_per_cpu_s, rows[1].tokens_per_cpu_s
    if cpu_single:
        print(f"per server CPU-second: concurrent/single = {cpu_concurrent / cpu_single:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
