"""Sandbox throughput: trivial runs through BubblewrapSandbox vs plain ``python3 -c`` spawns.

    .venv/bin/python -m bench.sandbox_throughput [--runs N] [--batch B] [--workers W]
                                                  [--rounds R] [--setups S] [--long-batch L]

Measures, in one process on this machine, runs per second and p50 latency of a trivial program
(``print(sum(range(1000)))``):
  * plain: unsandboxed ``/usr/bin/python3 -c`` subprocesses, serially and ``W`` at a time;
  * sandboxed: the warm fork-server (each run a fresh forked child inside bwrap + seccomp +
    cgroups), serially and ``W`` requests at a time, with ``B`` inputs per request (S* runs each
    candidate on a batch: public tests plus synthesized inputs) and with one input per request;
  * the same with ``L`` inputs per request (default 100), where the session start (one per
    request: a zygote is never shared) is amortised away: the per-run host work and its scaling;
  * session set-up: what a one-input request waits before its input runs (its latency minus the
    run's own time), each request sent once the pool has refilled its pre-started sessions.
The configurations are interleaved over ``R`` rounds (``N`` runs each in all), so a change in the
machine's load meanwhile hits all of them alike. Every figure is one ``name = value`` line after
the table; the load average is printed before and after, since other work skews every number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sandbox import BubblewrapSandbox, ExecutionRequest, RunResult, Status

PROGRAM = "print(sum(range(1000)))"
EXPECTED = "499500\n"
PYTHON = "/usr/bin/python3"


@dataclass
class Measurement:
    """Runs per second and per-run latency of one configuration, summed over rounds."""

    label: str
    runs: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0

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
    _check(result.runs)
    return [elapsed / batch] * batch


def _check(runs: tuple[RunResult, ...]) -> None:
    for run in runs:
        if run.status is not Status.OK or run.stdout != EXPECTED:
            raise RuntimeError(f"sandboxed run failed: {run}")


async def _measure(
    into: Measurement, job: Callable[[], Awaitable[float | list[float]]], jobs: int, workers: int
) -> None:
    slots = asyncio.Semaphore(workers)
    latencies: list[float] = []

    async def one() -> None:
        async with slots:
            outcome = await job()
        latencies.extend(outcome if isinstance(outcome, list) else [outcome])

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(jobs)))
    into.seconds += time.perf_counter() - started
    into.runs += len(latencies)
    into.latencies.extend(latencies)


async def _setups(box: BubblewrapSandbox, count: int) -> list[float]:
    """Set-up of one-input requests, each sent when the pre-started sessions are ready."""
    waits = []
    for _ in range(count):
        await box.wait_warm()
        started = time.perf_counter()
        result = await box.run(ExecutionRequest(PROGRAM, ("",)))
        elapsed = time.perf_counter() - started
        _check(result.runs)
        waits.append(max(0.0, elapsed - result.runs[0].time_s))
    return waits


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


async def main(
    runs: int, batch: int, workers: int, rounds: int, setups: int, long_batch: int
) -> None:
    """Warm up, measure every configuration in interleaved rounds and print the comparison."""
    load_before = _load()
    box = await BubblewrapSandbox.create(workers=workers)
    try:
        await _sandboxed(box, batch)
        await _plain_run()
        per_round = max(1, runs // rounds)
        configs: list[tuple[Measurement, Callable[[], Awaitable[float | list[float]]], int, int]]
        configs = [
            (Measurement("plain python3 -c, serial"), _plain_run, per_round, 1),
            (Measurement(f"plain python3 -c, {workers} at a time"), _plain_run, per_round, workers),
            (
                Measurement(f"sandboxed, serial, {batch} inputs/request"),
                lambda: _sandboxed(box, batch), max(1, per_round // batch), 1,
            ),
            (
                Measurement(f"sandboxed, {workers} at a time, {batch} inputs/request"),
                lambda: _sandboxed(box, batch), max(1, per_round // batch), workers,
            ),
            (
                Measurement("sandboxed, serial, 1 input/request"),
                lambda: _sandboxed(box, 1), max(1, per_round // 2), 1,
            ),
            (
                Measurement(f"sandboxed, {workers} at a time, 1 input/request"),
                lambda: _sandboxed(box, 1), max(1, per_round // 2), workers,
            ),
            (
                Measurement(f"sandboxed, serial, {long_batch} inputs/request"),
                lambda: _sandboxed(box, long_batch), max(workers, per_round // long_batch), 1,
            ),
            (
                Measurement(f"sandboxed, {workers} at a time, {long_batch} inputs/request"),
                lambda: _sandboxed(box, long_batch), max(workers, per_round // long_batch),
                workers,
            ),
        ]  # fmt: skip
        for _ in range(rounds):
            for measurement, job, jobs, width in configs:
                await box.wait_warm()  # every configuration starts from a refilled pool
                await _measure(measurement, job, jobs, width)
        waits = await _setups(box, setups)
    finally:
        await box.aclose()
    plain1, plainw, s1, sw = (config[0].rate for config in configs[:4])
    print(f"machine: {os.cpu_count()} CPUs; {runs} runs per configuration in {rounds} rounds")
    print(f"load average before = {load_before}")
    for measurement, *_ in configs:
        print(measurement.line())
    print(f"ratio sandboxed/plain at 1 worker = {s1 / plain1:.2f}")
    print(f"ratio sandboxed/plain at {workers} workers = {sw / plainw:.2f}")
    print(f"scaling 1->{workers} workers sandboxed = {sw / s1:.2f}")
    print(f"scaling 1->{workers} workers plain = {plainw / plain1:.2f}")
    long1, longw = configs[6][0].rate, configs[7][0].rate
    print(
        f"scaling 1->{workers} workers sandboxed, {long_batch} inputs/request = {longw / long1:.2f}"
    )
    ordered = sorted(waits)
    print(f"session set-up per request median = {statistics.median(ordered) * 1000:.2f} ms")
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    print(f"session set-up per request p90 = {p90 * 1000:.2f} ms")
    print(f"load average after = {_load()}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setups", type=int, default=40)
    parser.add_argument("--long-batch", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(
        main(args.runs, args.batch, args.workers, args.rounds, args.setups, args.long_batch)
    )


if __name__ == "__main__":
    cli()
