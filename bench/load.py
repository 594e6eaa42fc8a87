"""Load: many clients at once through sstar-proxy, JSON and streaming requests mixed (issue #13).

One run starts, each in its own process on loopback, the fake OpenAI-compatible upstream from
``tests/fake_upstream.py`` (fixed answer, no delay) and sstar-proxy in front of it, started the
way an operator starts it (``python -m proxy serve``; client-key auth on, default settings). A
bounded asyncio load generator (httpx, its default pool settings but for the connection count)
then sends ``--requests`` requests at each concurrency (50 and 200 connections), half of them
plain JSON chats and half streamed ones, first straight to the upstream and then through the
proxy, and reports per batch:

- the success rate: a JSON answer must be a 200 with a choice, a stream a 200 whose last event
  is ``[DONE]`` (no error event); every failure is counted by kind (status or exception);
- p50/p99 latency (a stream: to its last byte) and what the proxy adds to the direct path;
- the proxy's CPU time per request (``/proc/<pid>/stat``) and how many of the requests reached
  its request log (a failure that never reached the proxy's log failed at the connection);
- the proxy's RSS after a warm-up (once it stopped moving) and after the whole run (``VmRSS``):
  the growth.

    .venv/bin/python -m bench.load
    .venv/bin/python -m bench.load --requests 2000 --concurrency 50 200 --pause 5

``--pause S`` sends one request per connection first, then idles every connection of the pool
for ``S`` seconds before the batch (a client between two bursts; the first burst counts in the
batch): with ``--pause 5`` the idle time is the client's pool expiry (httpx: 5 s), where a
server keep-alive timeout of 5 s made requests go out on connections the server was closing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = f"sk-bench-{secrets.token_hex(16)}"
MESSAGES = [{"role": "user", "content": "Say hello to the load benchmark."}]


@dataclass(frozen=True)
class Target:
    name: str
    url: str  # the chat completions URL
    pid: int  # the serving process (CPU and RSS accounting)


@dataclass
class Batch:
    """One measured batch: outcomes by kind, latencies of the successful requests (s)."""

    target: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    cpu_s: float = 0.0

    @property
    def total(self) -> int:
        return len(self.latencies) + sum(self.failures.values())

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def settled_rss_mb(pid: int, *, quiet_s: float = 3.0, timeout_s: float = 120.0) -> float:
    """``pid``'s RSS once it has stopped moving (by < 0.5 MB for ``quiet_s``): the proxy imports
    litellm in the background after it starts, which must not count as growth under load."""
    deadline = time.monotonic() + timeout_s
    last, since = rss_mb(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = rss_mb(pid)
        if abs(now - last) >= 0.5:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    raise RuntimeError(f"RSS of {pid} did not settle in {timeout_s} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSTAR_")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}, **extra)
    return env


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout_s} s")


@contextlib.contextmanager
def _process(
    cmd: list[str], ready_url: str, *, env: dict[str, str], log: Path | None = None
) -> Iterator[int]:
    with contextlib.ExitStack() as stack:
        stderr = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            _wait_ready(ready_url, process, timeout_s=60)
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _one(client: httpx.AsyncClient, url: str, *, stream: bool) -> str | None:
    """Send one request; ``None`` when it succeeded, else what went wrong."""
    body: dict[str, object] = {"model": "fake-model", "messages": MESSAGES, "max_tokens": 16}
    if not stream:
        response = await client.post(url, json=body)
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        return None if response.json().get("choices") else "no choices"
    body |= {"stream": True, "stream_options": {"include_usage": True}}
    last = ""
    async with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return f"HTTP {response.status_code}"
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                last = line
                if line.startswith('data: {"error"'):
                    return "error event"
    return None if last == "data: [DONE]" else "no [DONE]"


async def _batch(
    client: httpx.AsyncClient, target: Target, *, concurrency: int, total: int
) -> Batch:
    batch = Batch(target.name, concurrency)
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < total:
            stream = issued % 2 == 1
            issued += 1
            started = time.perf_counter()
            try:
                failure = await _one(client, target.url, stream=stream)
            except httpx.HTTPError as exc:
                failure = type(exc).__name__
            if failure is None:
                batch.latencies.append(time.perf_counter() - started)
            else:
                batch.failures[failure] += 1

    cpu = _cpu_s(target.pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    batch.cpu_s = _cpu_s(target.pid) - cpu
    return batch


async def _measure(
    targets: list[Target], *, concurrencies: list[int], total: int, pause_s: float
) -> list[Batch]:
    batches = []
    headers = {"authorization": f"Bearer {KEY}"}
    for concurrency in concurrencies:
        # NOTE: httpx's default keep-alive expiry (5 s) on purpose: it is what clients run with.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        for target in targets:
            async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:
                burst = None
                if pause_s:  # one request per connection, then every connection idles
                    burst = await _batch(client, target, concurrency=concurrency, total=concurrency)
                    await asyncio.sleep(pause_s)
                batch = await _batch(client, target, concurrency=concurrency, total=total)
                if burst is not None:  # its requests count too (latency and failures)
                    batch.latencies += burst.latencies
                    batch.failures += burst.failures
                batches.append(batch)
    return batches


def _logged_requests(log: Path) -> int:
    """Requests the proxy's request log recorded (one JSON event per request)."""
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line).get("event")
            count += event in ("request_completed", "client_disconnected")
    return count


def _rows(batches: list[Batch]) -> list[str]:
    direct = {b.concurrency: b for b in batches if b.target == "direct"}
    rows = []
    for b in batches:
        ok = len(b.latencies)
        failed = ", ".join(f"{n} {kind}" for kind, n in b.failures.most_common()) or "none"
        base = direct[b.concurrency]
        added = (
            "— | —"
            if b is base
            else f"{b.percentile_ms(0.5) - base.percentile_ms(0.5):+.1f} "
            f"| {b.percentile_ms(0.99) - base.percentile_ms(0.99):+.1f}"
        )
        rows.append(
            f"| {b.concurrency} | {b.target} | {ok}/{b.total} ({ok / b.total:.2%}) | {failed} "
            f"| {b.percentile_ms(0.5):.1f} | {b.percentile_ms(0.99):.1f} | {added} "
            f"| {b.cpu_s / b.total * 1000:.2f} |"
        )
    return rows


def _start_servers(stack: contextlib.ExitStack, log: Path) -> list[Target]:
    """The fake upstream and the proxy in front of it, each its own process (stopped by
    ``stack``); the proxy's stderr (its request log) goes to ``log``."""
    upstream_port, proxy_port = _free_port(), _free_port()
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    upstream_pid = stack.enter_context(
        _process(
            [sys.executable, "-m", "tests.fake_upstream", "--port", str(upstream_port)],
            f"{upstream}/models",
            env=_env(),
        )
    )
    proxy_cmd = [sys.executable, "-m", "proxy", "serve", "--port", str(proxy_port)]
    proxy_pid = stack.enter_context(
        _process(
            [*proxy_cmd, "--upstream-api-base", upstream],
            f"http://127.0.0.1:{proxy_port}/ready",
            env=_env(SSTAR_API_KEYS=KEY),
            log=log,
        )
    )
    return [
        Target("direct", f"{upstream}/chat/completions", upstream_pid),
        Target("sstar-proxy", f"http://127.0.0.1:{proxy_port}/v1/chat/completions", proxy_pid),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--pause", type=float, default=0.0, help="idle seconds before a batch")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "proxy.log"
        direct, proxy = _start_servers(stack, log)
        top = max(args.concurrency)
        (warm,) = asyncio.run(_measure([proxy], concurrencies=[top], total=400, pause_s=0))
        rss_before = settled_rss_mb(proxy.pid)
        logged_before = _logged_requests(log)
        batches = asyncio.run(
            _measure(
                [direct, proxy],
                concurrencies=args.concurrency,
                total=args.requests,
                pause_s=args.pause,
            )
        )
        rss_after = rss_mb(proxy.pid)
        logged = _logged_requests(log) - logged_before
    print(
        "| connections | target | succeeded | failures | p50 ms | p99 ms "
        "| added p50 ms | added p99 ms | server CPU ms/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in _rows(batches):
        print(row)
    failed = ", ".join(f"{n} {kind}" for kind, n in warm.failures.items()) or "none"
    print(f"\nwarm-up ({warm.total} requests at {top} connections): failures: {failed}")
    print(
        f"proxy RSS: {rss_before:.1f} MB after the warm-up, {rss_after:.1f} MB after the run: "
        f"growth {rss_after - rss_before:+.1f} MB"
    )
    sent = sum(b.total for b in batches if b.target == proxy.name)
    print(f"requests sent to the proxy: {sent}; in its request log: {logged}")


if __name__ == "__main__":
    main()
