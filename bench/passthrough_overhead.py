"""Pass-through overhead: what sstar-proxy adds to a request it only relays.

One run starts the fake OpenAI-compatible upstream (``tests/fake_upstream.py``: fixed answer, no
delay), sstar-proxy in front of it (default settings: the S* detector runs and passes the chat
through) and, when a LiteLLM proxy is available in a separate virtualenv, LiteLLM's proxy in front
of the same upstream. Each is its own process on loopback. A small asyncio load generator then
sends the same non-streaming chat request at concurrency 1 and 64, alternating targets round by
round so machine noise hits all of them alike, and reports per target: p50/p99 latency, requests
per second, and, relative to calling the upstream directly, the added p50/p99 and throughput ratio
(medians over rounds). It also reports the CPU time the serving process spent per request (from
``/proc/<pid>/stat``): on a shared machine wall-clock latency is noisy, CPU per request is not.

    .venv/bin/python -m bench.passthrough_overhead
    .venv/bin/python -m bench.passthrough_overhead --litellm-venv /tmp/litellm-proxy-venv

The LiteLLM proxy is looked for in ``--litellm-venv`` (``bin/litellm``); install it there with
``python -m venv /tmp/litellm-proxy-venv && /tmp/litellm-proxy-venv/bin/pip install
'litellm[proxy]'`` (never into the project's venv). Without it the table says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# Both proxies check a client key (LiteLLM's proxy refuses to start without a master key).
KEY = f"sk-bench-{secrets.token_hex(16)}"
BODY = {
    "model": "fake-model",
    "messages": [{"role": "user", "content": "Say hello to the benchmark."}],
    "max_tokens": 16,
}
LITELLM_CONFIG = """\
model_list:
  - model_name: fake-model
    litellm_params:
      model: openai/fake-model
      api_base: {api_base}
      api_key: sk-none
"""


@dataclass(frozen=True)
class Target:
    name: str
    url: str  # the chat completions URL
    pid: int  # the process serving it (for CPU accounting)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    """One measured batch: latencies (s) and the batch's wall time."""

    latencies: list[float]
    elapsed: float
    cpu_s: float

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s / len(self.latencies) * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
    cmd: list[str], ready_url: str, *, env: dict[str, str], timeout_s: float
) -> Iterator[int]:
    process = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_ready(ready_url, process, timeout_s)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSTAR_")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}, **extra)
    return env


async def _batch(
    client: httpx.AsyncClient, target: Target, *, concurrency: int, total: int
) -> Sample:
    latencies: list[float] = []
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.post(target.url, json=BODY)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(
                    f"{target.url}: HTTP {response.status_code}: {response.text[:200]}"
                )

    cpu = _cpu_s(target.pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Sample(latencies, time.perf_counter() - started, _cpu_s(target.pid) - cpu)


async def _measure(
    targets: list[Target], *, concurrency: int, total: int, rounds: int
) -> dict[str, list[Sample]]:
    # NOTE: idle connections expire before uvicorn's 5 s keep-alive timeout closes them under us.
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2
    )
    results: dict[str, list[Sample]] = {t.name: [] for t in targets}
    headers = {"authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:
        for target in targets:  # warm-up: connections, imports, caches
            await _batch(client, target, concurrency=concurrency, total=max(50, concurrency * 2))
        for _ in range(rounds):
            for target in targets:
                sample = await _batch(client, target, concurrency=concurrency, total=total)
                results[target.name].append(sample)
    return results


def _report(concurrency: int, results: dict[str, list[Sample]]) -> list[str]:
    direct = results["direct"]
    rows = []
    for name, samples in results.items():
        p50 = statistics.median(s.p50_ms for s in samples)
        p99 = statistics.median(s.p99_ms for s in samples)
        rps = statistics.median(s.rps for s in samples)
        cpu = statistics.median(s.cpu_ms_per_request for s in samples)
        if name == "direct":
            added = "— | — | 1.00"
        else:
            add50 = statistics.median(
                s.p50_ms - d.p50_ms for s, d in zip(samples, direct, strict=True)
            )
            add99 = statistics.median(
                s.p99_ms - d.p99_ms for s, d in zip(samples, direct, strict=True)
            )
            ratio = statistics.median(s.rps / d.rps for s, d in zip(samples, direct, strict=True))
            added = f"+{add50:.2f} | +{add99:.2f} | {ratio:.2f}"
        rows.append(
            f"| {concurrency} | {name} | {p50:.2f} | {p99:.2f} | {rps:.0f} | {added} | {cpu:.2f} |"
        )
    return rows


def _targets(args: argparse.Namespace, stack: contextlib.ExitStack) -> tuple[list[Target], str]:
    upstream_port, proxy_port = _free_port(), _free_port()
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    upstream_pid = stack.enter_context(
        _process(
            [sys.executable, "-m", "tests.fake_upstream", "--port", str(upstream_port)],
            f"{upstream}/models",
            env=_env(),
            timeout_s=30,
        )
    )
    proxy_pid = stack.enter_context(
        _process(
            [
                sys.executable,
                "-m",
                "proxy",
                "serve",
                "--port",
                str(proxy_port),
                "--upstream-api-base",
                upstream,
            ],
            f"http://127.0.0.1:{proxy_port}/ready",
            env=_env(SSTAR_API_KEYS=KEY),
            timeout_s=60,
        )
    )
    targets = [
        Target("direct", f"{upstream}/chat/completions", upstream_pid),
        Target("sstar-proxy", f"http://127.0.0.1:{proxy_port}/v1/chat/completions", proxy_pid),
    ]
    litellm = Path(args.litellm_venv) / "bin" / "litellm"
    if args.no_litellm or not litellm.exists():
        return targets, f"LiteLLM proxy: not run ({litellm} not found)"
    config = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(api_base=upstream))
    port = _free_port()
    litellm_pid = stack.enter_context(
        _process(
            [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            f"http://127.0.0.1:{port}/health/liveliness",
            env=_env(LITELLM_LOG="ERROR", LITELLM_MASTER_KEY=KEY),
            timeout_s=180,
        )
    )
    targets.append(
        Target("litellm-proxy", f"http://127.0.0.1:{port}/v1/chat/completions", litellm_pid)
    )
    return targets, f"LiteLLM proxy: {litellm}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests-c1", type=int, default=300)
    parser.add_argument("--requests-c64", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--litellm-venv", default="/tmp/litellm-proxy-venv")  # noqa: S108
    parser.add_argument("--no-litellm", action="store_true")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        targets, note = _targets(args, stack)
        print(note)
        print(
            "| concurrency | target | p50 ms | p99 ms | req/s "
            "| added p50 ms | added p99 ms | throughput ratio | server CPU ms/req |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for concurrency, total in ((1, args.requests_c1), (64, args.requests_c64)):
            results = asyncio.run(
                _measure(targets, concurrency=concurrency, total=total, rounds=args.rounds)
            )
            for row in _report(concurrency, results):
                print(row, flush=True)


if __name__ == "__main__":
    main()
