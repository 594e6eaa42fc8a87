"""Sandbox throughput: trivial runs through BubblewrapSandbox vs plain ``python3 -c`` spawns.

    .venv/bin/python -m bench.sandbox_throughput [--runs N] [--batch B] [--workers W]
                                                  [--rounds R] [--setups S] [--long-batch L]

Measures, in one process on this machine, runs per second and p50 latency of a trivial program
(``print(sum(range(1000)))``), each way on one worker and one core, and on ``W`` workers and ``W``
cores (``W`` requests at a time):
  * plain: unsandboxed ``/usr/bin/python3 -c`` subprocesses;
  * sandboxed: the warm fork-server (each run a fresh forked child inside bwrap + seccomp +
    cgroups), with ``B`` inputs per request (S* runs each candidate on a batch: public tests plus
    synthesized inputs) and with one input per request;
  * the same with ``L`` inputs per request (default 100), where the session start (one per
    request: a zygote is never shared) is amortised away: the per-run host work and its scaling;
  * a lone request at a time on ``W`` cores, what one caller sees: the pool starts the next
    session on an idle core meanwhile, so this is not a one-core figure;
  * session set-up: what a one-input request waits before its input runs (its latency minus the
    run's own fork-to-exit time), each request sent once the pool has refilled its pre-started
    sessions.
``W`` requests at a time are ``W`` lanes, each taking the next request as soon as it is free.
Rates count a round's steady part (:func:`busy_window`): from when every lane has finished its
first request (those ran on sessions started before the clock, one per worker) until the first
lane runs dry (after it, lanes idle while the last requests finish). Against steady load, the
first edge favoured more workers and the second disfavoured them; the whole-round scaling, both
in, is printed too.
"One core" is this process (every thread) pinned to one CPU while the configuration runs, with a
one-worker sandbox whose sessions were all started pinned, so the supervisor, bwrap, the zygotes
and the runs share that core; without the pin, a "serial" sandbox uses the second core for its
session starts and the scaling from one to ``W`` workers says nothing about cores. The
configurations are interleaved over ``R`` rounds (``N`` runs each in all), so a change in the
machine's load meanwhile hits all of them alike. Every figure is one ``name = value`` line after
the table; the load average is printed before and after, since other work skews every number.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from sandbox import BubblewrapSandbox, ExecutionRequest, RunResult, Status
from sandbox.base import Mode

PROGRAM = "print(sum(range(1000)))"
EXPECTED = "499500\n"
# NOTE: function mode runs the prelude (typing, collections, re, ...) in every session's zygote
FUNCTION = ExecutionRequest("def f():\n    return sum(range(1000))\n", ("[]",), "function", "f")
PYTHON = "/usr/bin/python3"


@dataclass
class Measurement:
    """Runs per second and per-run latency of one configuration, summed over rounds.

    ``runs``/``seconds`` count only the time every lane was busy (see :func:`busy_window`);
    ``whole_runs``/``whole_seconds`` the whole round, its tail included.
    """

    label: str
    runs: float = 0.0
    seconds: float = 0.0
    whole_runs: int = 0
    whole_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0

    @property
    def whole_rate(self) -> float:
        return self.whole_runs / self.whole_seconds if self.whole_seconds else 0.0

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


def _request(batch: int, mode: Mode = "stdin") -> ExecutionRequest:
    if mode == "function":
        return replace(FUNCTION, inputs=FUNCTION.inputs * batch)
    return ExecutionRequest(PROGRAM, ("",) * batch)


async def _sandboxed(box: BubblewrapSandbox, batch: int, mode: Mode = "stdin") -> list[float]:
    """One request of ``batch`` inputs; the per-run latency is the request time over its runs."""
    started = time.perf_counter()
    result = await box.run(_request(batch, mode))
    elapsed = time.perf_counter() - started
    _check(result.runs)
    return [elapsed / batch] * batch


def _check(runs: tuple[RunResult, ...]) -> None:
    for run in runs:
        answer = run.return_json if run.return_json is not None else run.stdout
        if run.status is not Status.OK or answer not in (EXPECTED, "499500"):
            raise RuntimeError(f"sandboxed run failed: {run}")


@dataclass(frozen=True)
class Finished:
    """One job of a lane: when it started and ended, and how many runs it made."""

    start: float
    end: float
    runs: int


def busy_window(
    finished: list[Finished], first_ends: list[float], lane_ends: list[float]
) -> tuple[float, float]:
    """Runs made, and seconds, in the steady part of a round: from when every lane has finished
    its first job until the first lane finds no job left; a job straddling an edge counts in
    proportion.

    Both edges remove a bias of a finite round against steady load. The first jobs ran on the
    sessions pre-started before the clock (one per worker: the more workers, the more free
    session starts), and a round of few long jobs on ``W`` lanes ends with lanes idle while the
    last jobs finish (two 100-input requests on two lanes: up to half the round).
    """
    opened, closed = max(first_ends), min(lane_ends)
    if closed <= opened:
        raise ValueError("too few jobs per lane for a steady window")
    runs = 0.0
    for job in finished:
        inside = min(job.end, closed) - max(job.start, opened)
        if inside > 0:
            runs += job.runs * inside / (job.end - job.start)
    return runs, closed - opened


async def _measure(
    into: Measurement, job: Callable[[], Awaitable[float | list[float]]], jobs: int, workers: int
) -> None:
    """Run ``jobs`` on ``workers`` lanes, each taking the next job as soon as it is free."""
    remaining = jobs
    finished: list[Finished] = []
    first_ends: list[float] = []
    lane_ends: list[float] = []

    async def lane() -> None:
        nonlocal remaining
        first = True
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            outcome = await job()
            end = time.perf_counter()
            latencies = outcome if isinstance(outcome, list) else [outcome]
            finished.append(Finished(start, end, len(latencies)))
            into.latencies.extend(latencies)
            if first:
                first_ends.append(end)
                first = False
        lane_ends.append(time.perf_counter())

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(workers)))
    runs, seconds = busy_window(finished, first_ends, lane_ends)
    into.runs += runs
    into.seconds += seconds
    into.whole_runs += sum(job.runs for job in finished)
    into.whole_seconds += max(lane_ends) - started


async def _setups(box: BubblewrapSandbox, count: int, mode: Mode) -> list[float]:
    """Set-up of one-input requests, each sent when the pre-started sessions are ready (after one
    request of ``mode``, so the pool prepares its sessions for it)."""
    await _sandboxed(box, 1, mode)
    waits = []
    for _ in range(count):
        await box.wait_warm()
        started = time.perf_counter()
        result = await box.run(_request(1, mode))
        elapsed = time.perf_counter() - started
        _check(result.runs)
        waits.append(max(0.0, elapsed - result.runs[0].time_s))
    return waits


def _pin(cpus: set[int]) -> None:
    """Restrict every thread of this process to ``cpus``; processes it starts inherit that."""
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task), cpus)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


@dataclass
class Config:
    """One measured configuration: what runs, how many jobs, how many at a time, on which CPUs."""

    measurement: Measurement
    job: Callable[[], Awaitable[float | list[float]]]
    jobs: int
    width: int
    cpus: set[int]


async def main(
    runs: int, batch: int, workers: int, rounds: int, setups: int, long_batch: int
) -> None:
    """Warm up, measure every configuration in interleaved rounds and print the comparison."""
    load_before = _load()
    every_cpu = os.sched_getaffinity(0)
    one_cpu = {min(every_cpu)}
    _pin(one_cpu)  # the one-worker sandbox's self-test and first sessions start on its core
    one = await BubblewrapSandbox.create(workers=1)
    _pin(every_cpu)
    box = await BubblewrapSandbox.create(workers=workers)
    try:
        await _sandboxed(box, batch)
        await _plain_run()
        per_round = max(1, runs // rounds)
        # NOTE: at least three requests per lane and round, so each round has a steady window
        least = 3 * workers
        short, single = max(least, per_round // batch), max(least, per_round // 2)
        long = max(least, per_round // long_batch)

        def on_one_and_on_all(inputs: int, jobs: int, mode: Mode = "stdin") -> list[Config]:
            """The same requests on one worker and one core, and on every worker and core."""
            what = f"{inputs} input{'s' if inputs > 1 else ''}/request"
            what += ", function mode" if mode == "function" else ""
            return [
                Config(
                    Measurement(f"sandboxed, 1 core, {what}"),
                    lambda: _sandboxed(one, inputs, mode), jobs, 1, one_cpu,
                ),
                Config(
                    Measurement(f"sandboxed, {workers} cores, {workers} at a time, {what}"),
                    lambda: _sandboxed(box, inputs, mode), jobs, workers, every_cpu,
                ),
            ]  # fmt: skip

        configs = [
            Config(Measurement("plain python3 -c, 1 core"), _plain_run, per_round, 1, one_cpu),
            Config(
                Measurement(f"plain python3 -c, {workers} cores, {workers} at a time"),
                _plain_run, per_round, workers, every_cpu,
            ),
            *on_one_and_on_all(batch, short),
            Config(
                Measurement(f"sandboxed, {workers} cores, 1 at a time, {batch} inputs/request"),
                lambda: _sandboxed(box, batch), short, 1, every_cpu,
            ),
            *on_one_and_on_all(1, single),
            *on_one_and_on_all(batch, short, "function"),
            *on_one_and_on_all(long_batch, long),
        ]  # fmt: skip
        for _ in range(rounds):
            for config in configs:
                # NOTE: both pools refilled first, so no session starts across a change of pin
                await one.wait_warm()
                await box.wait_warm()
                _pin(config.cpus)
                try:
                    await _measure(config.measurement, config.job, config.jobs, config.width)
                finally:
                    await one.wait_warm()
                    await box.wait_warm()
                    _pin(every_cpu)
        waits = await _setups(box, setups, "stdin")
        function_waits = await _setups(box, setups, "function")
    finally:
        await box.aclose()
        await one.aclose()
    rate = [config.measurement.rate for config in configs]
    plain1, plainw, s1, sw, lone, _, _, f1, fw, long1, longw = rate
    print(f"machine: {os.cpu_count()} CPUs; {runs} runs per configuration in {rounds} rounds")
    print(f"load average before = {load_before}")
    for config in configs:
        print(config.measurement.line())
    print(f"ratio sandboxed/plain at 1 worker = {s1 / plain1:.2f}")
    print(f"ratio sandboxed/plain at {workers} workers = {sw / plainw:.2f}")
    print(f"scaling 1->{workers} workers sandboxed = {sw / s1:.2f}")
    print(f"scaling 1->{workers} workers plain = {plainw / plain1:.2f}")
    whole = [config.measurement.whole_rate for config in configs]
    print(
        f"scaling 1->{workers} workers sandboxed, whole rounds (tails included) = "
        f"{whole[3] / whole[2]:.2f}; plain = {whole[1] / whole[0]:.2f}"
    )
    print(
        f"scaling 1->{workers} workers sandboxed, {long_batch} inputs/request = {longw / long1:.2f}"
    )
    print(f"ratio sandboxed/plain at {workers} workers, function mode = {fw / plainw:.2f}")
    print(f"scaling 1->{workers} workers sandboxed, function mode = {fw / f1:.2f}")
    print(
        f"scaling from a lone request to {workers} at a time on {workers} cores = {sw / lone:.2f}"
    )
    for label, measured in (("", waits), (", function mode", function_waits)):
        ordered = sorted(measured)
        median = statistics.median(ordered) * 1000
        p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000
        print(f"session set-up per request{label} median = {median:.2f} ms")
        print(f"session set-up per request{label} p90 = {p90:.2f} ms")
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
