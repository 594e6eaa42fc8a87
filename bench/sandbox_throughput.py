"""Sandbox throughput: trivial runs through BubblewrapSandbox vs plain ``python3 -c`` spawns.

    .venv/bin/python -m bench.sandbox_throughput [--runs N] [--batch B] [--workers W]

Measures, in one process on this machine, runs per second and p50 latency of a trivial program
(``print(sum(range(1000)))``):
  * plain: unsandboxed ``/usr/bin/python3 -c`` subprocesses, serially and ``W`` at a time;
  * sandboxed: the warm fork-server (each run a fresh forked child inside bwrap + seccomp +
    cgroups), serially and ``W`` requests at a time, with ``B`` inputs per request (S* runs each
    candidate on a batch: public tests plus synthesized inputs) and with one input per request.
Prints ``ratio sandboxed/plain = X.XX`` (goal >= 1.0): sandboxed runs/s over plain runs/s, both
pooled at ``W``, batched sandboxed mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sandbox import BubblewrapSandbox, ExecutionRequest, Status

PROGRAM = "print(sum(range(1000)))"
EXPECTED = "499500\n"
PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class Measurement:
    """Runs per second and per-run latency of one configuration."""

    label: str
    runs: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.runs / self.seconds

    def line(self) -> str:
        p50 = statistics.median(self.latencies) * 1000
        return f"{self.label:<44} {self.rate:8.1f} runs/s   p50 {p50:6.2f} ms"


async def _plain_run() -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        PYTHON, "-c", PROGRAM, stdout=asyncio.subprocess.PIPE, env={"PATH": "/usr/bin:/bin"}
    )
    out, _ = await process.communicate()
    if out.decode() != EXPECTED:
        raise RuntimeError(f"plain run failed: {out!r}")
    return time.perf_counter() - started


async def _sandboxed(box: BubblewrapSandbox, batch: int) -> list[float]:
    """One request of ``batch`` inputs; the per-run latency is the request time over its runs."""
    started = time.perf_counter()
    result = await box.run(ExecutionRequest(PROGRAM, ("",) * batch))
    elapsed = time.perf_counter() - started
    if any(r.status is not Status.OK or r.stdout != EXPECTED for r in result.runs):
        raise RuntimeError(f"sandboxed run failed: {result.runs[0]}")
    return [elapsed / batch] * batch


async def _measure(
    label: str, job: Callable[[], Awaitable[float | list[float]]], jobs: int, concurrency: int
) -> Measurement:
    latencies: list[float] = []
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            outcome = await job()
        latencies.extend(outcome if isinstance(outcome, list) else [outcome])

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(jobs)))
    return Measurement(label, len(latencies), time.perf_counter() - started, latencies)


async def main(runs: int, batch: int, workers: int) -> None:
    """Warm up, then measure every configuration once and print the comparison."""
    box = await BubblewrapSandbox.create(workers=workers)
    try:
        await _sandboxed(box, batch)
        await _plain_run()
        results = [
            await _measure("plain python3 -c, serial", _plain_run, runs, 1),
            await _measure(f"plain python3 -c, {workers} at a time", _plain_run, runs, workers),
            await _measure(
                f"sandboxed, serial, {batch} inputs/request",
                lambda: _sandboxed(box, batch), runs // batch, 1,
            ),
            await _measure(
                f"sandboxed, {workers} at a time, {batch} inputs/request",
                lambda: _sandboxed(box, batch), runs // batch, workers,
            ),
            await _measure(
                "sandboxed, serial, 1 input/request", lambda: _sandboxed(box, 1), runs // 2, 1
            ),
            await _measure(
                f"sandboxed, {workers} at a time, 1 input/request",
                lambda: _sandboxed(box, 1), runs // 2, workers,
            ),
        ]  # fmt: skip
    finally:
        await box.aclose()
    print(f"machine: {os.cpu_count()} CPUs; {runs} runs per configuration")
    for measurement in results:
        print(measurement.line())
    serial = results[2].rate / results[0].rate
    print(f"serial ratio sandboxed/plain = {serial:.2f}")
    print(f"ratio sandboxed/plain = {results[3].rate / results[1].rate:.2f}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.batch, args.workers))


if __name__ == "__main__":
    cli()
