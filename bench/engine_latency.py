"""S* engine latency: wall time of a run as a multiple of one upstream call (the critical path).

A scripted upstream answers every call after a fixed delay with unlimited parallelism, so the
measured time is the engine's own critical path: how many *sequential* calls it makes, plus
sandbox work. Goals (issue #3): sampling costs about one call whatever N is; a whole run at N=8,
R=2 stays within 6x one call.

The scenario is a function task with weak public tests. Of N samples, a quarter fail the public
tests and need both debug rounds (the second fixes them), a quarter are an off-by-one the public
tests miss, the rest are correct; selection must synthesize inputs, cluster and run the
tournament. All programs run in the real bubblewrap sandbox.

    .venv/bin/python -m bench.engine_latency [--delay 0.5] [--samples 1 8 16]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import time

import structlog

from proxy.scaling.engine import ScalingEngine
from proxy.scaling.types import CodeTask, PublicTest, ScalingParams, ScalingResult, Signature
from proxy.upstream.base import Message, UpstreamRequest
from sandbox import BubblewrapSandbox
from tests.fakes import ScriptedUpstream

PROBLEM = (
    "Write count_multiples(n): how many integers in 1..n are divisible by 3 or 5.\n"
    ">>> count_multiples(7)\n3\n>>> count_multiples(11)\n5\n"
)
CORRECT = "def count_multiples(n):\n    return n // 3 + n // 5 - n // 15{pad}\n"
OFF_BY_ONE = "def count_multiples(n):\n    m = n - 1\n    return m // 3 + m // 5 - m // 15{pad}\n"
BUGGY = "def count_multiples(n):\n    return n // 3 + n // 5 + 1{pad}\n"
STILL_BUGGY = "def count_multiples(n):\n    return n // 3 + n // 5 - 1{pad}\n"
_ITEM = re.compile(r"Input \d+:\n\[(-?\d+)\]\nOutput of program A:\n(.*?)\nOutput of program B:\n")


def _fenced(program: str, variant: int) -> str:
    return f"```python\n{program.format(pad=f'  # v{variant}')}```"


def _script(request: UpstreamRequest) -> list[str]:
    prompt = request.messages[-1].content
    if request.purpose == "sample":
        kinds = [CORRECT, OFF_BY_ONE, BUGGY, CORRECT]
        return [_fenced(kinds[i % 4], i) for i in range(request.n)]
    if request.purpose == "debug":
        rounds = sum(m.role == "assistant" for m in request.messages)
        return [_fenced(STILL_BUGGY if rounds == 1 else CORRECT, 100 + rounds)]
    if request.purpose == "synthesis" and "Program A:" in prompt:
        return ["```json\n[[15], [30]]\n```"]
    if request.purpose == "synthesis":
        return ["```json\n[[0], [1], [15], [100]]\n```"]
    verdict = "A"
    for given, out_a in _ITEM.findall(prompt):
        n = int(given)
        verdict = "A" if out_a.strip() == str(n // 3 + n // 5 - n // 15) else "B"
    return [f"Answer: {verdict}"]


def _task() -> CodeTask:
    return CodeTask(
        problem=PROBLEM,
        conversation=(Message("user", PROBLEM),),
        kind="function",
        model="bench",
        signature=Signature("count_multiples", ("n",)),
        public_tests=(PublicTest("[7]", "3"), PublicTest("[11]", "5")),
    )


async def _run(
    sandbox: BubblewrapSandbox, *, delay: float, samples: int, rounds: int
) -> tuple[float, ScalingResult]:
    upstream = ScriptedUpstream(_script, delay_s=delay)
    # NOTE: samples are scripted by their index within a call, so all N come from one call.
    params = ScalingParams(
        samples=samples, rounds=rounds, exec_wall_time_s=2.0, seed=1, greedy_sample=False
    )
    started = time.perf_counter()
    result = await ScalingEngine(upstream, sandbox).run(_task(), params)
    return time.perf_counter() - started, result


async def main(delay: float, sample_counts: list[int]) -> None:
    # NOTE: the engine logs one event per stage; the table is the output here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sandbox = await BubblewrapSandbox.create()
    try:
        await _run(sandbox, delay=0.0, samples=2, rounds=0)  # warm the sandbox
        print(f"one upstream call = {delay:.2f} s (scripted, unlimited parallelism)\n")
        header = f"{'N':>3} {'R':>2} {'sampling':>9} {'whole run':>10} {'calls':>6} {'execs':>6}"
        print(header + "  stages (x one call)")
        for samples in sample_counts:
            for rounds in (0, 2):
                wall, result = await _run(sandbox, delay=delay, samples=samples, rounds=rounds)
                stages = {t.stage: t.duration_ms / 1000 / delay for t in result.timings}
                detail = "  ".join(f"{k} {v:.2f}" for k, v in stages.items())
                verdict = "correct" if result.program.startswith(CORRECT[:40]) else "WRONG"
                print(
                    f"{samples:>3} {rounds:>2} {stages.get('sample', 0):>8.2f}x "
                    f"{wall / delay:>9.2f}x {result.upstream_calls:>6} {result.executions:>6}  "
                    f"{detail}  (selected {verdict})"
                )
    finally:
        await sandbox.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per upstream call")
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 8, 16])
    arguments = parser.parse_args()
    asyncio.run(main(arguments.delay, arguments.samples))
