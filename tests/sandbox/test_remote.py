"""RemoteSandbox over real worker subprocesses: spreading, a worker killed mid-batch, fail closed,
the client's queue bound, and a token the workers refuse."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from sandbox import ExecutionRequest, Limits, RemoteSandbox, SandboxUnavailableError, Status
from tests.sandbox.conftest import descendants
from tests.workers import TOKEN, WorkerProcess

pytestmark = pytest.mark.bwrap

SLOW = ExecutionRequest(
    "import time\ntime.sleep(float(input()))\nprint('slept', input())\n",
    ("0.6\nA",),
    limits=Limits(wall_time_s=10.0, cpu_time_s=10.0),
)


def slow(seconds: float, tag: str) -> ExecutionRequest:
    return ExecutionRequest(SLOW.program, (f"{seconds}\n{tag}",), limits=SLOW.limits)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WorkerProcess, ...]]:
    """Two workers, one program at a time each (so the client's capacity is 2)."""
    directory = tmp_path_factory.mktemp("workers")
    workers = [WorkerProcess(directory, "--workers", "1", "--queue", "0") for _ in range(2)]
    try:
        yield tuple(worker.start() for worker in workers)
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
async def remote(pair: tuple[WorkerProcess, ...]) -> AsyncIterator[RemoteSandbox]:
    box = await RemoteSandbox.open([w.url for w in pair], TOKEN, check_interval_s=0.5)
    try:
        yield box
    finally:
        await box.aclose()


async def wait_for(condition, what: str, within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


def _running(worker: WorkerProcess) -> int:
    in_flight: int = httpx.get(worker.url + "/ready", timeout=5).json()["in_flight"]
    return in_flight


async def test_open_learns_each_workers_capacity(remote: RemoteSandbox) -> None:
    assert [(w.ready, w.slots) for w in remote.workers()] == [(True, 1), (True, 1)]
    assert remote.unavailable_reason() is None


async def test_batches_spread_over_the_workers(remote: RemoteSandbox) -> None:
    before = [w.served for w in remote.workers()]
    results = await asyncio.gather(*(remote.run(slow(0.5, str(i))) for i in range(4)))
    assert [r.runs[0].stdout for r in results] == [f"slept {i}\n" for i in range(4)]
    served = [w.served - b for w, b in zip(remote.workers(), before, strict=True)]
    assert sum(served) == 4
    assert min(served) >= 1


async def test_run_many_is_one_round_trip(remote: RemoteSandbox, pair) -> None:
    before = sum(w.served for w in remote.workers())
    requests = [
        ExecutionRequest("print(int(input()) * 2)", ("1", "2")),
        ExecutionRequest("def f(a):\n    return [a]\n", ("[1]",), "function", "f"),
        ExecutionRequest("print('nothing')", ()),
        ExecutionRequest("raise SystemExit(input())", ("boom",)),
    ]
    results = await remote.run_many(requests)
    assert [r.stdout for r in results[0].runs] == ["2\n", "4\n"]
    assert results[1].runs[0].return_json == "[1]"
    assert results[2].runs == ()
    assert results[3].runs[0].status is Status.RUNTIME_ERROR
    assert sum(w.served for w in remote.workers()) == before + 1
    with pytest.raises(ValueError, match="entry_point"):
        await remote.run(ExecutionRequest("x", ("[]",), "function"))


async def test_the_client_queue_is_bounded(pair) -> None:
    box = await RemoteSandbox.open([w.url for w in pair], TOKEN, max_waiting=1, queue_timeout_s=30)
    try:
        running = [asyncio.ensure_future(box.run(slow(1.5, f"r{i}"))) for i in range(2)]
        await wait_for(lambda: sum(w.in_flight for w in box.workers()) == 2, "both running")
        waiting = asyncio.ensure_future(box.run(slow(0.1, "w")))
        await asyncio.sleep(0.05)
        with pytest.raises(SandboxUnavailableError, match="queue full"):
            await box.run(slow(0.1, "x"))
        results = await asyncio.gather(*running, waiting)
    finally:
        await box.aclose()
    assert [r.runs[0].stdout for r in results] == ["slept r0\n", "slept r1\n", "slept w\n"]


async def test_waiting_too_long_for_a_worker_fails(pair) -> None:
    box = await RemoteSandbox.open([w.url for w in pair], TOKEN, queue_timeout_s=0.3)
    try:
        running = [asyncio.ensure_future(box.run(slow(1.5, f"r{i}"))) for i in range(2)]
        await wait_for(lambda: sum(w.in_flight for w in box.workers()) == 2, "both running")
        started = time.monotonic()
        with pytest.raises(SandboxUnavailableError, match=r"waited 0\.3 s"):
            await box.run(slow(0.1, "late"))
        assert time.monotonic() - started < 1.4  # it did not wait for a slot
        await asyncio.gather(*running)
    finally:
        await box.aclose()


async def test_a_worker_killed_mid_batch_loses_nothing(tmp_path: Path) -> None:
    workers = [WorkerProcess(tmp_path, "--workers", "1").start() for _ in range(2)]
    box = await RemoteSandbox.open([w.url for w in workers], TOKEN, check_interval_s=0.5)
    try:
        task = asyncio.ensure_future(box.run(slow(1.0, "survived")))
        await wait_for(lambda: any(w.in_flight for w in box.workers()), "batch sent")
        index = next(i for i, w in enumerate(box.workers()) if w.in_flight)
        victim, other = workers[index], workers[1 - index]
        await wait_for(lambda: _running(victim) == 1, "the program runs on the victim")
        sandboxed = descendants(victim.pid)
        victim.kill()
        result = await task
        views = box.workers()
        assert result.runs[0].status is Status.OK
        assert result.runs[0].stdout == "slept survived\n"
        assert views[index].faults == 1
        assert not views[index].ready
        assert views[1 - index].served == 1
        await wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in sandboxed), "orphans")
        # the last worker goes too: fail closed, and say why
        other.kill()
        with pytest.raises(SandboxUnavailableError, match="no sandbox worker is ready"):
            await box.run(slow(0.1, "nowhere"))
        reason = box.unavailable_reason()
        assert reason is not None
        assert victim.url in reason
        assert other.url in reason
    finally:
        await box.aclose()
        for worker in workers:
            worker.stop()


async def test_a_restarted_worker_is_used_again(tmp_path: Path) -> None:
    worker = WorkerProcess(tmp_path, "--workers", "1").start()
    box = await RemoteSandbox.open([worker.url], TOKEN, check_interval_s=0.2)
    try:
        worker.kill()
        with pytest.raises(SandboxUnavailableError):
            await box.run(slow(0.1, "down"))
        # a restart in place (same address), found by the background check
        with WorkerProcess(tmp_path, "--workers", "1", "--port", str(worker.port)):
            await wait_for(lambda: box.unavailable_reason() is None, "ready again")
            result = await box.run(slow(0.1, "back"))
        assert result.runs[0].stdout == "slept back\n"
    finally:
        await box.aclose()
        worker.stop()


async def test_no_worker_listening_fails_closed() -> None:
    holders = [socket.socket() for _ in range(2)]  # bound, never listening: refused at once
    try:
        for holder in holders:
            holder.bind(("127.0.0.1", 0))
        urls = [f"http://127.0.0.1:{h.getsockname()[1]}" for h in holders]
        box = await RemoteSandbox.open(urls, TOKEN)
        try:
            reason = box.unavailable_reason()
            assert reason is not None
            assert "unreachable" in reason
            with pytest.raises(SandboxUnavailableError, match="no sandbox worker is ready"):
                await box.run(ExecutionRequest("print(1)", ("",)))
        finally:
            await box.aclose()
    finally:
        for holder in holders:
            holder.close()


async def test_a_token_the_workers_refuse_fails_closed(pair) -> None:
    box = await RemoteSandbox.open([w.url for w in pair], "not-the-token-0123456789")
    try:
        reason = box.unavailable_reason()
        assert reason is not None
        assert "rejected the sandbox token (401)" in reason
        with pytest.raises(SandboxUnavailableError):
            await box.run(ExecutionRequest("print(1)", ("",)))
    finally:
        await box.aclose()
