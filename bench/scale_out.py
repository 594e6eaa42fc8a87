"""Scale-out: S* throughput on 1 and 2 sandbox workers and 1 and 2 proxy replicas (issue #15).

One run starts, each in its own process group on loopback: a scripted fake upstream (this
module's ``--serve-upstream``: ``tests/fake_upstream.py`` with the responder below), then per
configuration ``R`` proxy replicas (``python -m proxy serve``) in front of it and ``W`` sandbox
workers (``python -m sandbox serve --workers P``) behind them, every replica given every worker
in ``SSTAR_SANDBOX_URLS``. The client is the load balancer: it sends the same fixed batch of
distinct forced S* requests (httpx, ``--concurrency`` in flight) round robin over the replicas,
after a warm-up of one request per connection. The replicas share nothing (no Redis): every
request is a run of its own.

The scenario does real sandbox work: a stdin task (count the primes up to n, weak public tests),
whose samples are a sieve (correct, cheap), trial division (correct, dearer), an off-by-one the
public tests miss and a program that fails them (fixed by the one debug round); then five
synthesized inputs up to 30000 for clustering, distinguishing inputs and an execution-grounded
judge that answers by the real outputs (about 25 sandboxed runs a request). A request counts as
correct when the answer is one of the correct programs.

Per configuration: requests/s, p50/p99 latency, the proxies' CPU per request and the sandbox CPU
per request (every worker's process tree from ``/proc``: the service process, and the programs it
ran, which its sessions reaped), with ratios to the first configuration measured in the same run
(1 replica, 1 worker by default). On one machine the configurations share its cores, so scaling
out adds processes, not CPU: the figures that carry over to more machines are the CPU ones. From
them: how many S* requests a minute one sandbox core sustains, the cores a target rate needs
(``--target-rate``), and how many one-program worker slots keep a core busy (slots x the time
a worker had a batch in hand, from its ``batch_completed`` log, over its CPU; the summary takes
the baseline's, since slots beyond the free cores wait for CPU and read high).

    .venv/bin/python -m bench.scale_out
    .venv/bin/python -m bench.scale_out --requests 48 --concurrency 8 --configs 1x1 1x2 2x2 1xlocal

``--configs``: ``RxW`` = R replicas on W workers, ``Rxlocal`` = R replicas each on its own local
sandbox (no worker service). ``--workers-per-process P``: programs one worker runs at once (1:
the worker count is the slot count, so 1 against 2 workers doubles the slots).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.load import _cpu_s, _env, _free_port, _wait_ready
from tests.fake_upstream import FakeUpstream, Reply, last_user_text

ROOT = Path(__file__).resolve().parent.parent
TOKEN = secrets.token_hex(16)  # the workers' shared secret for this run

# --- the scenario ----------------------------------------------------------------------------

PROBLEM = """Problem {ident}: count the primes.

Input
One integer n (1 <= n <= 100000).

Output
Print how many prime numbers are less than or equal to n.

Sample Input 1
10

Sample Output 1
4

Sample Input 2
20

Sample Output 2
8
"""
PROGRAMS = {
    "sieve": (
        "n = int(input())\nsieve = bytearray([1]) * (n + 1)\nsieve[0:2] = b'\\x00\\x00'\n"
        "for i in range(2, int(n ** 0.5) + 1):\n    if sieve[i]:\n"
        "        sieve[i * i :: i] = bytearray(len(range(i * i, n + 1, i)))\n"
        "print(sum(sieve[: n + 1]))\n"
    ),
    "trial": (
        "n = int(input())\ncount = 0\nfor k in range(2, n + 1):\n    d = 2\n"
        "    while d * d <= k and k % d:\n        d += 1\n    count += d * d > k\nprint(count)\n"
    ),
    "below": (  # primes < n: right on the samples (10 and 20 are not prime), wrong on 97
        "n = int(input())\ncount = 0\nfor k in range(2, n):\n    d = 2\n"
        "    while d * d <= k and k % d:\n        d += 1\n    count += d * d > k\nprint(count)\n"
    ),
    "one": (  # counts 1 as a prime: fails the samples, fixed by the debug round
        "n = int(input())\ncount = 0\nfor k in range(1, n + 1):\n    d = 2\n"
        "    while d * d <= k and k % d:\n        d += 1\n    count += d * d > k\nprint(count)\n"
    ),
}
SAMPLE_KINDS = ("sieve", "trial", "below", "one")  # sample i is SAMPLE_KINDS[i % 4]
CORRECT_KINDS = frozenset({"sieve", "trial"})
SYNTHESIZED = ["1\n", "2\n", "97\n", "1000\n", "30000\n"]
DISTINGUISHING = ["97\n", "2\n", "3\n"]
_KIND = re.compile(r"# kind=(\w+)")
_ITEM = re.compile(
    r"Input \d+:\n(?P<input>.*?)\nOutput of program A:\n(?P<a>.*?)\nOutput of program B:\n"
    r"(?P<b>.*?)(?=\n\nInput \d+:\n|\n\n(?:Work out|According)|\Z)",
    re.S,
)


def prime_count(n: int) -> int:
    """How many primes are <= ``n`` (the judge's reference)."""
    if n < 2:
        return 0
    sieve = bytearray([1]) * (n + 1)
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(n**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, n + 1, i)))
    return sum(sieve)


def fenced(kind: str, variant: int) -> str:
    """The program of ``kind`` as a model answer; ``variant`` makes each sample's text distinct
    (as sampled programs are), and the marker says which kind the proxy selected."""
    return f"```python\n# kind={kind} v{variant}\n{PROGRAMS[kind]}```"


def judge(prompt: str) -> str:
    """The letter of the program whose real output is right on the first input the two
    programs disagree on (``A`` when none), as a judge that can count primes would answer."""
    for item in _ITEM.finditer(prompt):
        number = re.search(r"\d+", item["input"])
        if number is None:
            continue
        expected = str(prime_count(int(number.group())))
        right_a, right_b = item["a"].strip() == expected, item["b"].strip() == expected
        if right_a != right_b:
            return "A" if right_a else "B"
    return "A"


def respond(_path: str, body: dict[str, Any]) -> Reply:
    """The scripted model behind every S* stage (recognised by the prompt each stage sends)."""
    text = last_user_text(body)
    if "Write a complete Python 3 program" in text:
        # NOTE: the first sample is greedy (temperature 0, one choice), the rest one n=N-1 call.
        first = 0 if body.get("temperature") == 0 else 1
        return Reply(
            texts=[
                fenced(SAMPLE_KINDS[(first + i) % 4], first + i)
                for i in range(int(body.get("n") or 1))
            ]
        )
    if "Your program was run on the public tests" in text:
        return Reply(text=fenced("trial", 100))
    if "would behave differently" in text:
        return Reply(text=f"```json\n{json.dumps(DISTINGUISHING)}\n```")
    if "Propose" in text:
        return Reply(text=f"```json\n{json.dumps(SYNTHESIZED)}\n```")
    if "real outputs" in text:
        letter = judge(text)
        return Reply(text=letter if "single letter" in text else f"Answer: {letter}")
    return Reply(text="This benchmark only answers S* calls.")


def selected_kind(content: str) -> str | None:
    """Which scripted program an answer is (``None``: none of them)."""
    found = _KIND.search(content)
    return found.group(1) if found else None


def serve_upstream(port: int) -> None:
    """The fake upstream with this scenario's responder, until killed."""
    import uvicorn

    fake = FakeUpstream()

    def responder(path: str, body: dict[str, Any]) -> Reply:
        fake.requests.clear()  # NOTE: the bench reads no recording; keep memory flat
        return respond(path, body)

    fake.responder = responder
    uvicorn.run(fake.asgi_app(), host="127.0.0.1", port=port, log_level="warning")


# --- configurations and arithmetic -----------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """``replicas`` proxies on ``workers`` sandbox workers (0: each its own local sandbox)."""

    replicas: int
    workers: int

    @property
    def name(self) -> str:
        return f"{self.replicas}x{self.workers or 'local'}"

    def describe(self, per_process: int) -> str:
        proxies = f"{self.replicas} replica{'s' * (self.replicas > 1)}"
        if not self.workers:
            return f"{proxies}, local sandbox"
        return f"{proxies}, {self.workers} worker{'s' * (self.workers > 1)} x {per_process}"


def parse_config(text: str) -> Config:
    """``"2x2"`` is 2 replicas on 2 workers, ``"1xlocal"`` 1 replica on a local sandbox."""
    match = re.fullmatch(r"([1-9]\d*)x([1-9]\d*|local)", text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected RxW (e.g. 2x2) or Rxlocal")
    workers = 0 if match[2] == "local" else int(match[2])
    return Config(int(match[1]), workers)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (as ``bench.load``); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def busy_seconds(intervals: Sequence[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals: how long a worker had work."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def batch_intervals(log_lines: Sequence[str]) -> list[tuple[float, float]]:
    """``(start, end)`` in epoch seconds of every ``batch_completed`` in a worker's JSON log
    (it logs the end's ISO timestamp and the duration)."""
    found = []
    for line in log_lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("event") != "batch_completed":
            continue
        end = datetime.datetime.fromisoformat(event["timestamp"]).timestamp()
        found.append((end - event["duration_ms"] / 1000, end))
    return found


def cores_needed(rate_per_min: float, cpu_s_per_request: float) -> float:
    """Sandbox cores a rate of S* requests a minute keeps busy: rate x CPU per request."""
    return rate_per_min / 60 * cpu_s_per_request


def per_core_rate(cpu_s_per_request: float) -> float:
    """S* requests a minute one fully used sandbox core sustains."""
    return 60 / cpu_s_per_request


@dataclass(frozen=True)
class Usage:
    """CPU seconds of a server process (``own``) and of everything else in its tree."""

    own: float
    below: float

    @property
    def total(self) -> float:
        return self.own + self.below

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.own - other.own, self.below - other.below)

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.own + other.own, self.below + other.below)


ZERO = Usage(0.0, 0.0)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and everything below it: utime+stime+cutime+cstime of it and
    of every living descendant (cutime+cstime: the children each reaped). Consistent between
    two reads when every process of the tree is reaped inside it (``bench.subreaper``)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = fields
            children[int(fields[1])].append(int(entry.name))
    if root not in stats:
        raise RuntimeError(f"process {root} is gone")
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        ticks += sum(int(stats[pid][i]) for i in (11, 12, 13, 14))
        todo.extend(children[pid])
    return ticks / os.sysconf("SC_CLK_TCK")


# --- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    """A started server: ``root`` (the reaper, its own process group) and ``main`` (the server
    process below it), where it serves, and its log."""

    root: int
    main: int
    url: str
    log: Path

    def usage(self) -> Usage:
        """The server's own CPU, and the rest of its tree's (its sandbox, when it has one)."""
        own = _cpu_s(self.main)
        return Usage(own, tree_cpu_s(self.root) - own)


def _stop(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM the process group (the server drains and closes its sandboxes), SIGKILL it
    after ``timeout_s``; every process of the group ends either way."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def spawn(cmd: list[str], ready_url: str, *, env: dict[str, str], log: Path) -> Iterator[Child]:
    """Start ``cmd`` under ``bench.subreaper`` in a new process group, wait until
    ``ready_url`` answers below 500, and stop the whole group on the way out, whatever ended
    the block (Ctrl-C included)."""
    reaper = [sys.executable, "-m", "bench.subreaper", *cmd]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            reaper,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        try:
            _wait_ready(ready_url, process, timeout_s=120)
        except RuntimeError as exc:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{exc}; its log ends:\n{tail}") from None
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        if len(children) != 1:
            raise RuntimeError(f"expected one server process below {process.pid}: {children}")
        yield Child(process.pid, int(children[0]), ready_url.rsplit("/", 1)[0], log)
    finally:
        _stop(process, timeout_s=30)


def start_upstream(stack: contextlib.ExitStack, directory: Path) -> Child:
    port = _free_port()
    cmd = [sys.executable, "-m", "bench.scale_out", "--serve-upstream", str(port)]
    url = f"http://127.0.0.1:{port}/v1/models"
    return stack.enter_context(spawn(cmd, url, env=_env(), log=directory / "upstream.log"))


def start_config(
    stack: contextlib.ExitStack,
    config: Config,
    *,
    upstream: str,
    per_process: int,
    concurrency: int,
    directory: Path,
) -> tuple[list[Child], list[Child]]:
    """The configuration's workers, then its replicas (all stopped by ``stack``)."""
    workers = []
    for index in range(config.workers):
        port = _free_port()
        cmd = [sys.executable, "-m", "sandbox", "serve", "--port", str(port)]
        cmd += ["--workers", str(per_process), "--log-format", "json"]
        log = directory / f"{config.name}-worker{index}.log"
        ready = f"http://127.0.0.1:{port}/ready"
        env = _env(SSTAR_SANDBOX_TOKEN=TOKEN)
        workers.append(stack.enter_context(spawn(cmd, ready, env=env, log=log)))
    settings = {
        "SSTAR_UPSTREAM_API_BASE": upstream,
        "SSTAR_UPSTREAM_RETRIES": "0",
        # NOTE: every replica admits the whole batch's concurrency, so the number of replicas,
        # not the per-replica cap on runs (a 429 beyond it), is what differs.
        "SSTAR_MAX_CONCURRENT_RUNS": str(concurrency),
        "SSTAR_DEADLINE_S": "300",
        "SSTAR_LOG_FORMAT": "json",
    }
    if workers:
        settings["SSTAR_SANDBOX_URLS"] = ",".join(w.url for w in workers)
        settings["SSTAR_SANDBOX_TOKEN"] = TOKEN
    replicas = []
    for index in range(config.replicas):
        port = _free_port()
        cmd = [sys.executable, "-m", "proxy", "serve", "--port", str(port)]
        log = directory / f"{config.name}-proxy{index}.log"
        ready = f"http://127.0.0.1:{port}/ready"
        replicas.append(stack.enter_context(spawn(cmd, ready, env=_env(**settings), log=log)))
    return workers, replicas


# --- the load --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One configuration's measured batch."""

    config: Config
    slots: int  # programs the workers run at once (0: local sandboxes)
    wall_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    selected: collections.Counter[str] = field(default_factory=collections.Counter)
    proxy: Usage = ZERO  # the replicas' own CPU (below: a local sandbox's)
    workers: Usage = ZERO  # the workers' service processes (own) and their programs (below)
    busy_s: float = 0.0  # summed over workers: how long each had a batch in hand

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.failures.values())

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall_s

    @property
    def correct(self) -> int:
        return sum(n for kind, n in self.selected.items() if kind in CORRECT_KINDS)

    @property
    def sandbox_cpu_s(self) -> float:
        """Sandbox CPU per request: the workers' whole trees, or a local sandbox's processes."""
        return (self.workers.total + self.proxy.below) / self.requests

    @property
    def session_cpu_s(self) -> float:
        """Of that, the sandbox sessions (bwrap, the zygote, the programs), without the
        worker's service process (HTTP, JSON, supervising the sessions)."""
        return (self.workers.below + self.proxy.below) / self.requests

    @property
    def proxy_cpu_s(self) -> float:
        return self.proxy.own / self.requests

    @property
    def slots_per_core(self) -> float | None:
        """How many single-program slots one core could host: while a worker had work, its
        slots used ``cpu / busy`` cores; ``None`` without workers or without work."""
        if not self.slots or self.busy_s <= 0:
            return None
        return self.slots * self.busy_s / self.workers.total


async def _one(client: httpx.AsyncClient, url: str, ident: str, *, samples: int) -> str:
    """One forced S* request; the selected program's kind, or ``!<what went wrong>``."""
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": PROBLEM.format(ident=ident)}],
    }
    headers = {"x-sstar-mode": "force", "x-sstar-samples": str(samples), "x-sstar-rounds": "1"}
    response = await client.post(url, json=body, headers=headers)
    if response.status_code != 200:
        return f"!HTTP {response.status_code}"
    if response.headers.get("x-sstar-applied") != "true":
        return "!not applied"
    if "x-sstar-degraded" in response.headers:
        return f"!degraded ({response.headers['x-sstar-degraded']})"
    content = response.json()["choices"][0]["message"]["content"] or ""
    return selected_kind(content) or "other"


async def send_batch(
    urls: Sequence[str], idents: Sequence[str], outcome: Outcome, *, concurrency: int, samples: int
) -> None:
    """Send one request per ident, ``concurrency`` at a time, round robin over ``urls``."""
    pending = collections.deque(enumerate(idents))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def sender(client: httpx.AsyncClient) -> None:
        while pending:
            index, ident = pending.popleft()
            url = f"{urls[index % len(urls)]}/v1/chat/completions"
            started = time.perf_counter()
            try:
                kind = await _one(client, url, ident, samples=samples)
            except httpx.HTTPError as exc:
                kind = f"!{type(exc).__name__}"
            if kind.startswith("!"):
                outcome.failures[kind[1:]] += 1
            else:
                outcome.latencies.append(time.perf_counter() - started)
                outcome.selected[kind] += 1

    async with httpx.AsyncClient(limits=limits, timeout=600) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))


def measure(config: Config, args: argparse.Namespace, *, upstream: str, directory: Path) -> Outcome:
    """Start the configuration, warm it up, send the batch, read the CPU it took."""
    with contextlib.ExitStack() as stack:
        workers, replicas = start_config(
            stack,
            config,
            upstream=upstream,
            per_process=args.workers_per_process,
            concurrency=args.concurrency,
            directory=directory,
        )
        urls = [r.url for r in replicas]
        warm = Outcome(config, 0)
        warm_ids = [f"warm-{config.name}-{i}" for i in range(args.concurrency)]
        asyncio.run(
            send_batch(urls, warm_ids, warm, concurrency=args.concurrency, samples=args.samples)
        )
        if warm.failures:
            raise RuntimeError(f"{config.name}: the warm-up failed: {dict(warm.failures)}")
        outcome = Outcome(config, config.workers * args.workers_per_process)
        lines_before = {w.main: len(w.log.read_text().splitlines()) for w in workers}
        proxy_before = sum((r.usage() for r in replicas), ZERO)
        workers_before = sum((w.usage() for w in workers), ZERO)
        started = time.perf_counter()
        asyncio.run(
            send_batch(
                urls,
                [f"{i}" for i in range(args.requests)],
                outcome,
                concurrency=args.concurrency,
                samples=args.samples,
            )
        )
        outcome.wall_s = time.perf_counter() - started
        outcome.proxy = sum((r.usage() for r in replicas), ZERO) - proxy_before
        outcome.workers = sum((w.usage() for w in workers), ZERO) - workers_before
        outcome.busy_s = sum(
            busy_seconds(batch_intervals(w.log.read_text().splitlines()[lines_before[w.main] :]))
            for w in workers
        )
    return outcome


# --- the report ------------------------------------------------------------------------------


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "—"


def table(outcomes: Sequence[Outcome], per_process: int) -> list[str]:
    """The Markdown table: one row per configuration, ratios to the first."""
    base = outcomes[0]
    rows = [
        "| configuration | ok | correct | req/s | p50 s | p99 s | req/s ratio | p50 ratio "
        "| sandbox CPU s/req (sessions) | proxy CPU s/req | slots/core |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        ok = len(o.latencies)
        failed = ", ".join(f"{n} {kind}" for kind, n in o.failures.most_common())
        slots = o.slots_per_core
        rows.append(
            f"| {o.config.describe(per_process)} | {ok}/{o.requests}"
            f"{f' ({failed})' if failed else ''} | {o.correct}/{ok} | {o.rate:.3f} "
            f"| {percentile(o.latencies, 0.5):.2f} | {percentile(o.latencies, 0.99):.2f} "
            f"| {ratio(o.rate, base.rate)} "
            f"| {ratio(percentile(o.latencies, 0.5), percentile(base.latencies, 0.5))} "
            f"| {o.sandbox_cpu_s:.3f} ({o.session_cpu_s:.3f}) | {o.proxy_cpu_s:.3f} "
            f"| {'—' if slots is None else f'{slots:.2f}'} |"
        )
    return rows


def sizing(outcomes: Sequence[Outcome], target_rate: float) -> list[str]:
    """The sizing rule from the measured sandbox CPU per request (every configuration's
    requests pooled: the work per request does not depend on where it runs)."""
    requests = sum(o.requests for o in outcomes)
    cpu = sum(o.sandbox_cpu_s * o.requests for o in outcomes) / requests
    proxy = sum(o.proxy_cpu_s * o.requests for o in outcomes) / requests
    lines = [
        f"sandbox CPU per S* request: {cpu:.3f} s; proxy CPU per S* request: {proxy:.3f} s",
        f"sizing rule: one sandbox worker core per {per_core_rate(cpu):.0f} S* requests a minute "
        f"of this kind (60 / {cpu:.3f} s); one proxy core per {per_core_rate(proxy):.0f}",
        f"a target of {target_rate:g} S* requests a minute needs "
        f"{cores_needed(target_rate, cpu):.2f} sandbox cores and "
        f"{cores_needed(target_rate, proxy):.2f} proxy cores",
    ]
    # NOTE: from the first configuration with workers (the baseline): where more slots run
    # than the machine has free cores, programs wait for CPU while their batch counts as busy,
    # and the figure reads high.
    measured = next((o for o in outcomes if o.slots_per_core is not None), None)
    if measured is not None and measured.slots_per_core is not None:
        slots = measured.slots_per_core
        lines.append(
            f"projected workers per core: {slots:.2f} one-program slots keep a core busy "
            f"(measured on {measured.config.name}); the target needs "
            f"{(count := math.ceil(cores_needed(target_rate, cpu) * slots))} "
            f"slot{'s' * (count != 1)} "
            "(`--workers`, summed over the workers)"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=24, help="S* requests per configuration")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument(
        "--configs",
        type=parse_config,
        nargs="+",
        default=[Config(1, 1), Config(1, 2), Config(2, 2)],
        help="RxW or Rxlocal; the first is the baseline of the ratios (default 1x1 1x2 2x2)",
    )
    parser.add_argument("--workers-per-process", type=int, default=1, help="worker --workers")
    parser.add_argument("--samples", type=int, default=4, help="x-sstar-samples (N)")
    parser.add_argument("--target-rate", type=float, default=60.0, help="S* requests a minute")
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_upstream is not None:
        serve_upstream(args.serve_upstream)
        return
    if min(args.requests, args.concurrency, args.workers_per_process, args.samples) < 1:
        parser.error("--requests, --concurrency, --workers-per-process and --samples must be >= 1")
    started = datetime.datetime.now(datetime.UTC)
    load = os.getloadavg()
    outcomes = []
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-out-")))
        upstream = start_upstream(stack, directory).url
        for config in args.configs:
            print(f"measuring {config.describe(args.workers_per_process)} ...", file=sys.stderr)
            outcomes.append(measure(config, args, upstream=upstream, directory=directory))
    print(
        f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} at the start and {os.getloadavg()[0]:.2f} at the end; "
        f"{args.requests} requests per configuration, {args.concurrency} in flight, "
        f"N={args.samples}, 1 debug round\n"
    )
    for row in table(outcomes, args.workers_per_process):
        print(row)
    print()
    for line in sizing(outcomes, args.target_rate):
        print(line)


if __name__ == "__main__":
    main()
