"""RemoteSandbox's fault handling against scripted workers (every way a worker can fail).

The workers here are scripted HTTP answers (``httpx.MockTransport``): what is tested is the
client's reaction to each answer. Real workers, real kills and real bubblewrap are in
``tests/sandbox/test_remote.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from structlog.testing import capture_logs

from sandbox import (
    ExecutionRequest,
    ExecutionResult,
    RemoteSandbox,
    RunResult,
    SandboxCrashedError,
    SandboxUnavailableError,
    Status,
)
from sandbox.service.wire import BatchCaps, decode_batch, encode_results, error_body

TOKEN = "unit-test-token-0123456789"  # noqa: S105 - a test secret
REQUEST = ExecutionRequest("print(input())", ("hi",))
Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok(request: httpx.Request) -> httpx.Response:
    """What a healthy worker answers: each input echoed as stdout."""
    batch = decode_batch(request.content, BatchCaps())
    results = [
        ExecutionResult(tuple(RunResult(Status.OK, stdout=f"{i}\n", time_s=0.01) for i in r.inputs))
        for r in batch
    ]
    return httpx.Response(200, content=encode_results(results))


def refused(status: int, message: str, code: str, **headers: str) -> httpx.Response:
    body = error_body(message, error_type="server_error", code=code)
    return httpx.Response(status, content=body, headers=headers)


READY = httpx.Response(200, json={"status": "ready", "workers": 2, "queue": 2, "in_flight": 0})


@dataclass
class Worker:
    """A scripted worker: batches answered from ``batches`` in turn (then ``ok``)."""

    batches: list[Answer] = field(default_factory=list)
    ready: list[Answer] = field(default_factory=list)
    seen: list[httpx.Request] = field(default_factory=list)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        script = self.ready if request.url.path == "/ready" else self.batches
        step: Answer = script.pop(0) if script else (READY if request.url.path == "/ready" else ok)
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step

    @property
    def batches_seen(self) -> int:
        return sum(r.url.path == "/v1/executions" for r in self.seen)


@pytest.fixture
def workers() -> dict[str, Worker]:
    return {"http://w0": Worker(), "http://w1": Worker()}


@pytest.fixture
def order() -> list[str]:
    """The workers that received a batch, in order."""
    return []


@pytest.fixture
def open_remote(workers: dict[str, Worker], order: list[str]) -> Callable[..., object]:
    def route(request: httpx.Request) -> httpx.Response:
        url = f"{request.url.scheme}://{request.url.host}"
        if request.url.path == "/v1/executions":
            order.append(url)
        return workers[url].answer(request)

    async def open_(**options: object) -> RemoteSandbox:
        options = {"backoff_s": 0.01, "check_interval_s": 60, **options}
        return await RemoteSandbox.open(
            list(workers), TOKEN, transport=httpx.MockTransport(route), **options
        )

    return open_


@pytest.fixture
async def remote(open_remote) -> AsyncIterator[RemoteSandbox]:
    box = await open_remote()
    yield box
    await box.aclose()


def first_batch_answers(workers: dict[str, Worker], *answers: Answer) -> None:
    """Whichever worker gets the first batch(es) gives these answers."""
    shared = list(answers)
    for worker in workers.values():
        worker.batches = shared


def view(box: RemoteSandbox, url: str):
    return next(w for w in box.workers() if w.url == url)


async def test_results_are_decoded_exactly(remote: RemoteSandbox) -> None:
    result = await remote.run(ExecutionRequest("x", ("a", "b")))
    assert result == ExecutionResult(
        (
            RunResult(Status.OK, stdout="a\n", time_s=0.01),
            RunResult(Status.OK, stdout="b\n", time_s=0.01),
        )
    )


@pytest.mark.parametrize(
    ("answer", "ready_after"),
    [
        (refused(500, "boom", "internal_error"), True),
        (httpx.Response(200, content=b'{"results": []}'), True),
        (httpx.Response(200, content=b"<html>"), True),
        (httpx.ReadTimeout("slow"), True),
        (refused(503, "the worker is draining (shutting down)", "draining"), False),
        (refused(401, "bad token", "invalid_token"), False),
        (httpx.ConnectError("refused"), False),
        (httpx.RemoteProtocolError("Server disconnected"), False),
    ],
)
async def test_a_failed_batch_is_sent_to_another_worker(
    workers: dict[str, Worker], order: list[str], open_remote, answer: Answer, ready_after: bool
) -> None:
    first_batch_answers(workers, answer)
    if not ready_after:  # a worker that is gone fails the probe that follows too
        for worker in workers.values():
            worker.ready.extend([READY, refused(503, "down", "draining")])
    box = await open_remote()
    try:
        result = await box.run(REQUEST)
        failed, other = order
        assert failed != other
        assert result.runs[0].stdout == "hi\n"
        assert view(box, failed).ready is ready_after
        assert view(box, failed).faults == 1
        assert view(box, other).served == 1
    finally:
        await box.aclose()


async def test_a_busy_worker_is_skipped_for_its_retry_after(
    workers: dict[str, Worker], order: list[str], open_remote
) -> None:
    first_batch_answers(workers, refused(429, "busy", "worker_busy", **{"retry-after": "30"}))
    box = await open_remote()
    try:
        first = await box.run(REQUEST)
        second = await box.run(REQUEST)
        assert first.runs[0].stdout == second.runs[0].stdout == "hi\n"
        busy, other = order[0], order[1]
        assert order == [busy, other, other]
        assert view(box, busy).ready
        assert view(box, busy).faults == 0
    finally:
        await box.aclose()


async def test_when_every_worker_is_busy_longer_than_the_queue_wait_it_fails(
    workers: dict[str, Worker], open_remote
) -> None:
    busy = refused(429, "busy", "worker_busy", **{"retry-after": "30"})
    first_batch_answers(workers, busy, busy)
    box = await open_remote(queue_timeout_s=1.0)
    try:
        with pytest.raises(SandboxUnavailableError, match=r"failed on 2 attempt\(s\)"):
            await box.run(REQUEST)
    finally:
        await box.aclose()


async def test_a_refused_batch_is_not_retried(workers: dict[str, Worker], open_remote) -> None:
    first_batch_answers(workers, refused(400, "memory_mb may be at most 1024", "invalid_batch"))
    box = await open_remote()
    try:
        with pytest.raises(SandboxCrashedError, match="refused the batch: memory_mb may be"):
            await box.run(REQUEST)
        assert sum(w.batches_seen for w in workers.values()) == 1
    finally:
        await box.aclose()


async def test_workers_that_keep_failing_exhaust_the_attempts(
    workers: dict[str, Worker], open_remote
) -> None:
    first_batch_answers(workers, *[refused(500, "boom", "internal_error")] * 10)
    box = await open_remote(attempts=3)
    try:
        with pytest.raises(SandboxUnavailableError, match=r"failed on 3 attempt\(s\)"):
            await box.run(REQUEST)
        assert sum(w.batches_seen for w in workers.values()) == 3
    finally:
        await box.aclose()


async def test_one_service_url_is_retried_after_a_probe_finds_it_ready() -> None:
    """A Kubernetes Service URL: the pod behind it died, the probe reaches another one."""
    worker = Worker(batches=[httpx.RemoteProtocolError("Server disconnected")])
    box = await RemoteSandbox.open(
        ["http://svc:8300/"], TOKEN, transport=httpx.MockTransport(worker.answer)
    )
    try:
        assert (await box.run(REQUEST)).runs[0].stdout == "hi\n"
        assert worker.batches_seen == 2
        assert box.workers()[0].url == "http://svc:8300"
    finally:
        await box.aclose()


async def test_the_token_is_sent_everywhere_and_logged_nowhere(
    workers: dict[str, Worker], open_remote
) -> None:
    first_batch_answers(workers, refused(500, "boom", "internal_error"))
    with capture_logs() as logs:
        box = await open_remote()
        try:
            await box.run(REQUEST)
            await box.run(REQUEST)
        finally:
            await box.aclose()
    seen = [r for w in workers.values() for r in w.seen]
    assert {r.headers["authorization"] for r in seen} == {f"Bearer {TOKEN}"}
    assert {r.url.path for r in seen} == {"/ready", "/v1/executions"}
    assert any(entry["event"] == "sandbox_worker_failed" for entry in logs)
    assert TOKEN not in json.dumps(logs, default=str)
    assert "print(input())" not in json.dumps(logs, default=str)


async def test_a_worker_answering_ready_without_capacity_is_not_ready(open_remote, workers) -> None:
    workers["http://w0"].ready.append(httpx.Response(200, json={"status": "ready"}))
    workers["http://w1"].ready.append(refused(503, "the sandbox self-test failed: no bwrap", "x"))
    box = await open_remote()
    try:
        reason = box.unavailable_reason()
        assert reason is not None
        assert "http://w0: not ready: HTTP 200" in reason
        assert "http://w1: not ready: the sandbox self-test failed: no bwrap" in reason
        await box.check()
        assert box.unavailable_reason() is None
    finally:
        await box.aclose()


def test_a_remote_sandbox_needs_a_url() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RemoteSandbox([" "], TOKEN)


async def test_a_closed_remote_sandbox_runs_nothing(
    workers: dict[str, Worker], open_remote
) -> None:
    box = await open_remote()
    await box.aclose()
    with pytest.raises(SandboxUnavailableError, match="closed"):
        await box.run(REQUEST)
    assert sum(w.batches_seen for w in workers.values()) == 0
