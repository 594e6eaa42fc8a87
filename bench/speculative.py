"""Does n-gram speculative decoding speed up the embedded model's debug calls?

    .venv/bin/python -m bench.speculative                        # ngram-simple, 6 pairs
    .venv/bin/python -m bench.speculative --spec-type ngram-mod --pairs 10

A debug revision mostly copies the program it fixes, so drafting the next tokens from n-grams
already in the context (llama.cpp's ``--spec-type ngram-*``, no draft model) could decode it
faster; a fresh sample has little to copy, so the drafts cost it a little instead. Two
``llama-server`` processes of the same model run side by side, one with the option, and the
same requests go to each in turn (paired; the order alternates), at S*'s temperature. The speed
is llama-server's own ``timings.predicted_per_second`` of each answer, so client overhead does
not count. Printed: median tokens/s per server and kind of prompt, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from proxy.local_model import DEFAULT_MODEL, MODELS, LocalModelServer, prepare_local_model

TASK = (
    "Write a Python function `merge_intervals(intervals: list[list[int]]) -> list[list[int]]` "
    "that merges overlapping intervals and returns them sorted by start.\n"
    ">>> merge_intervals([[1, 3], [2, 6], [8, 10]])\n[[1, 6], [8, 10]]"
)
PROGRAM = '''def merge_intervals(intervals):
    """Merge overlapping intervals."""
    result = []
    for start, end in intervals:
        if result and start < result[-1][1]:
            result[-1][1] = max(result[-1][1], end)
        else:
            result.append([start, end])
    return result'''
FEEDBACK = (
    "Your program was run on the public tests and failed 1 of 1:\n\nTest 1: FAILED "
    "(WRONG_ANSWER)\nInput:\n[[[2, 6], [1, 3], [8, 10]]]\n\nExpected output:\n[[1, 6], [8, 10]]\n"
    "Actual output:\n[[2, 6], [1, 3], [8, 10]]\n\nFind the bug and give the complete corrected "
    "program in one ```python fenced code block."
)
PROMPTS: dict[str, list[dict[str, str]]] = {
    "debug": [
        {"role": "user", "content": TASK},
        {"role": "assistant", "content": f"```python\n{PROGRAM}\n```"},
        {"role": "user", "content": FEEDBACK},
    ],
    "sample": [{"role": "user", "content": TASK}],
}


async def _speed(
    http: httpx.AsyncClient, server: LocalModelServer, kind: str, seed: int
) -> tuple[float, int]:
    """llama-server's decoding speed for one answer, and how many tokens it generated."""
    body = {
        "model": server.model_name,
        "messages": PROMPTS[kind],
        "temperature": 0.7,
        "max_tokens": 400,
        "seed": seed,
    }
    response = await http.post(f"{server.api_base}/chat/completions", json=body)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    timings = data.get("timings") or {}
    return float(timings.get("predicted_per_second", 0.0)), int(timings.get("predicted_n", 0))


async def run(
    plain: LocalModelServer, spec: LocalModelServer, *, pairs: int
) -> dict[tuple[str, str], list[float]]:
    """``pairs`` requests of each kind to both servers, in alternating order."""
    speeds: dict[tuple[str, str], list[float]] = {}
    async with httpx.AsyncClient(timeout=600) as http:
        for server in (plain, spec):  # warm-up: page in the weights
            await _speed(http, server, "sample", 0)
        for pair in range(pairs):
            for kind in PROMPTS:
                order = [("plain", plain), ("spec", spec)]
                for name, server in order if pair % 2 == 0 else order[::-1]:
                    tps, _ = await _speed(http, server, kind, seed=pair)
                    speeds.setdefault((kind, name), []).append(tps)
    return speeds


def render(speeds: dict[tuple[str, str], list[float]], *, header: str) -> str:
    lines = [
        header,
        "",
        "| prompt | plain tok/s | speculative tok/s | ratio |",
        "|---|---|---|---|",
    ]
    for kind in PROMPTS:
        plain = statistics.median(speeds[(kind, "plain")])
        spec = statistics.median(speeds[(kind, "spec")])
        lines.append(f"| {kind} | {plain:.1f} | {spec:.1f} | {spec / plain:.2f}x |")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.speculative", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--spec-type", default="ngram-simple", help="llama-server --spec-type")
    parser.add_argument("--pairs", type=int, default=6, help="requests of each kind per server")
    parser.add_argument("--threads", type=int, default=1, help="threads per server (two run)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prepared = prepare_local_model(args.model)
    plain = LocalModelServer(prepared, threads=args.threads, parallel=1, ctx_per_slot=4096)
    spec = LocalModelServer(
        prepared,
        threads=args.threads,
        parallel=1,
        ctx_per_slot=4096,
        extra_args=("--spec-type", args.spec_type),
    )
    with plain, spec:
        speeds = asyncio.run(run(plain, spec, pairs=args.pairs))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    header = (
        f"{args.model}, --spec-type {args.spec_type}, {args.pairs} pairs per prompt, "
        f"{args.threads} thread(s) per server, load average after the run: {load}"
    )
    print(render(speeds, header=header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
