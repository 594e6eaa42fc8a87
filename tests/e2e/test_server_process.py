"""``python -m proxy serve`` as an operator runs it, in its own process: an oversized header costs
the server no memory, and SIGTERM drains in-flight requests, ends the rest properly, stops the
sandbox sessions and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.server.server import GRACE_S
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.replicas import ProxyProcess

KEY = "sk-process-test"
DRAIN_S = 3.0


@contextlib.contextmanager
def _serve(tmp_path: Path, **env: str) -> Iterator[ProxyProcess]:
    with ProxyProcess(tmp_path / "proxy.log", SSTAR_API_KEYS=KEY, **env) as proxy:
        yield proxy


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _send_until_answered(port: int, head: bytes, total: int, pid: int) -> tuple[int, bytes, int]:
    """Send ``head`` then up to ``total`` header bytes in 64 KiB chunks, stopping once the server
    answers; returns the bytes sent, the answer and the server's peak RSS (kB) meanwhile."""
    chunk = b"a" * 65536
    sent, answer, peak = 0, b"", _rss_kb(pid)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        while sent < total and not answer:
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(chunk)
            with contextlib.suppress(BlockingIOError):
                answer = sock.recv(65536)
            peak = max(peak, _rss_kb(pid))
            time.sleep(0.001)
        sock.settimeout(10)
        with contextlib.suppress(TimeoutError):
            while part := sock.recv(65536):
                answer += part
    return sent, answer, max(peak, _rss_kb(pid))


def test_a_50_mb_header_is_refused_before_it_costs_memory(tmp_path):
    env = {"SSTAR_SSTAR_MODE": "off", "SSTAR_UPSTREAM_API_BASE": "http://127.0.0.1:9/v1"}
    with _serve(tmp_path, **env) as proxy:
        for _ in range(20):  # warm the server's allocations up
            httpx.get(f"{proxy.url}/health")
        baseline = _rss_kb(proxy.pid)
        port = int(proxy.url.rsplit(":", 1)[1])
        head = b"GET /v1/models HTTP/1.1\r\nhost: t\r\nx-big: "
        sent, answer, peak = _send_until_answered(port, head, 50 * 1024 * 1024, proxy.pid)
    assert peak - baseline < 4 * 1024, f"RSS grew {(peak - baseline) / 1024:.1f} MB"
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"code":"request_header_fields_too_large"' in answer
    assert sent < 8 * 1024 * 1024  # refused long before the header could have ended


def _responder(path: str, body: dict[str, Any]) -> Reply | None:
    text = last_user_text(body)
    if "quick" in text:
        return Reply(delay_s=0.5)  # answered within the drain time
    if "slow stream" in text:
        return Reply(text=" ".join(["word"] * 1000), chunk_delay_s=0.2)  # never done in time
    if "short stream" in text:
        return Reply(text="a b c d e", chunk_delay_s=0.2)  # done within the drain time
    return Reply(delay_s=120)  # hung: the JSON request and S*'s sampling calls


def _descendants(pid: int) -> dict[int, str]:
    """``{pid: start time}`` of every process below ``pid`` (from ``/proc/*/stat``)."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            child = int(stat.parent.name)
            children.setdefault(int(fields[1]), []).append(child)
            started[child] = fields[19]
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = started[child]
            todo.append(child)
    return found


def _alive(pid: int, start_time: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == start_time and fields[0] != "Z"


def _refused_within(url: str, seconds: float) -> bool:
    """Whether a new connection to ``url`` is refused within ``seconds``."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.05)
    return False


async def _chat(
    client: httpx.AsyncClient, text: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"model": "fake-model", "messages": [{"role": "user", "content": text}]}
    return await client.post("/v1/chat/completions", json=body, headers=headers)


async def _stream(
    client: httpx.AsyncClient, text: str, started: asyncio.Event, headers: dict[str, str]
) -> list[str]:
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": text}],
        "stream": True,
    }
    events = []
    async with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                events.append(line.removeprefix("data: "))
                started.set()
    return events


@dataclass
class Drained:
    """What the clients got when the server was stopped with their requests in flight."""

    chats: dict[str, httpx.Response]
    streams: dict[str, list[str]]
    refused: bool  # a new connection was refused during the drain...
    draining: bool  # ...while the hung request was still running
    ended_after: float  # from SIGTERM to the last answer


SSTAR = {"x-sstar-mode": "force", "x-sstar-samples": "2"}
TASK = "Write a Python function add(a, b) that returns a + b.\n>>> add(1, 2)\n3"


async def _terminate_in_flight(proxy: ProxyProcess, fake: FakeUpstream) -> Drained:
    auth = {"authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=proxy.url, headers=auth, timeout=60) as client:
        # NOTE: a first S* run loads litellm; until then the event loop would wait for the
        # background import (an S* request blocks the loop on the import lock).
        await _chat(client, "quick: " + TASK, SSTAR)
        chats = {name: asyncio.create_task(_chat(client, name)) for name in ("quick", "hung")}
        started = {name: asyncio.Event() for name in ("slow stream", "short stream", TASK)}
        streams = {
            name: asyncio.create_task(_stream(client, name, event, SSTAR if name == TASK else {}))
            for name, event in started.items()
        }
        for event in started.values():
            await asyncio.wait_for(event.wait(), 60)
        assert await asyncio.to_thread(
            fake.wait_for,
            lambda: any(last_user_text(r.json or {}) == "hung" for r in fake.requests),
        )
        terminated = time.monotonic()
        proxy.process.send_signal(signal.SIGTERM)
        refused = await asyncio.to_thread(_refused_within, proxy.url, DRAIN_S - 1)
        draining = not chats["hung"].done()
        await asyncio.gather(*chats.values(), *streams.values())
        return Drained(
            chats={name: task.result() for name, task in chats.items()},
            streams={name: task.result() for name, task in streams.items()},
            refused=refused,
            draining=draining,
            ended_after=time.monotonic() - terminated,
        )


@pytest.mark.bwrap
async def test_sigterm_drains_in_flight_requests_ends_the_rest_and_exits_0(tmp_path):
    env = {"SSTAR_DRAIN_TIMEOUT_S": str(DRAIN_S), "SSTAR_UPSTREAM_RETRIES": "0"}
    with FakeUpstream(responder=_responder) as fake:
        with _serve(tmp_path, SSTAR_UPSTREAM_API_BASE=fake.base_url, **env) as proxy:
            children = _descendants(proxy.pid)
            assert children, "expected the sandbox's warm sessions below the server"
            drained = await _terminate_in_flight(proxy, fake)
            status = await asyncio.to_thread(proxy.process.wait, DRAIN_S + GRACE_S + 10)
        log = proxy.log.read_text()

    assert status == 0, log  # within the wait above: drain + grace + time to close down
    assert drained.refused
    assert drained.draining
    assert drained.ended_after >= DRAIN_S - 0.1  # the hung ones got the whole drain time
    # finished within the drain time: answered normally
    assert drained.chats["quick"].status_code == 200
    assert drained.streams["short stream"][-1] == "[DONE]"
    assert not any(e.startswith('{"error"') for e in drained.streams["short stream"])
    # still running when the drain time was up: ended properly
    hung = drained.chats["hung"]
    assert hung.status_code == 503
    assert hung.headers["x-should-retry"] == "true"
    assert hung.json()["error"]["code"] == "server_shutting_down"
    for name in ("slow stream", TASK):  # a pass-through stream and an S* stream
        events = drained.streams[name]
        assert events[-1] == "[DONE]"
        assert json.loads(events[-2])["error"]["code"] == "server_shutting_down"
    # nothing left behind, nothing crashed
    assert [pid for pid, start in children.items() if _alive(pid, start)] == []
    assert "Traceback" not in log
    assert '"event": "drain_expired"' in log
