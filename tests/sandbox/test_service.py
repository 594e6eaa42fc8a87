"""The sandbox worker (``python -m sandbox serve``): same verdicts as the local sandbox, over HTTP.

One worker subprocess serves the module (real bubblewrap, real uvicorn, real sockets); each
equivalence test runs the same batch in a local ``BubblewrapSandbox`` and compares every field of
every run but the time. The refusals that need a particular worker state (a tiny body cap, a
full worker, a sandbox that cannot open) use the worker's app in-process with its real sandbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from sandbox import BubblewrapSandbox, ExecutionRequest, ExecutionResult, Limits, Status
from sandbox.service.app import WorkerState, bubblewrap_opener, build_worker_app
from sandbox.service.config import WorkerConfig
from sandbox.service.holder import SandboxHolder
from sandbox.service.wire import BatchCaps, decode_results, encode_batch
from tests.sandbox.conftest import SHORT, descendants
from tests.workers import TOKEN, WorkerProcess

pytestmark = pytest.mark.bwrap

TWO_SUM = (
    "class Solution:\n"
    "    def twoSum(self, nums, target):\n"
    "        seen = {}\n"
    "        for i, n in enumerate(nums):\n"
    "            if target - n in seen:\n"
    "                return (seen[target - n], i)\n"
    "            seen[n] = i\n"
)
BATCH = (
    ExecutionRequest("a, b = map(int, input().split())\nprint(a + b)\n", ("1 2", "3 4", "10 -5")),
    ExecutionRequest("import sys\nprint('partial')\nsys.exit(3)\n", ("",), limits=SHORT),
    ExecutionRequest("raise ValueError('boom')\n", ("",), limits=SHORT),
    ExecutionRequest(
        "print(input()[::-1], flush=True)\nwhile True:\n    pass\n", ("abc",), limits=SHORT
    ),
    ExecutionRequest("while True:\n    print('y' * 4096)\n", ("",), limits=SHORT),
    ExecutionRequest("x = bytearray(1 << 30)\n", ("",), limits=Limits(5.0, 5.0, 128)),
    ExecutionRequest(TWO_SUM, ("[[2,7,11,15], 9]", "[[3,3], 6]"), "function", "Solution.twoSum"),
    ExecutionRequest("def f(x):\n    return 1 // x\n", ("[0]", "[1]", "not json"), "function", "f"),
    ExecutionRequest("def g():\n    return {'s': {1}}\n", ("[]",), "function", "g"),
)
EXPECTED = [
    [Status.OK] * 3,
    [Status.RUNTIME_ERROR],
    [Status.RUNTIME_ERROR],
    [Status.TIMEOUT],
    [Status.OUTPUT_LIMIT],
    [Status.MEMORY_LIMIT],
    [Status.OK, Status.OK],
    [Status.RUNTIME_ERROR, Status.OK, Status.RUNTIME_ERROR],
    [Status.OK],
]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    with WorkerProcess(tmp_path_factory.mktemp("worker"), "--workers", "2") as process:
        yield process


@pytest.fixture
async def http(worker: WorkerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=worker.url, timeout=60) as client:
        yield client


def comparable(results: tuple[ExecutionResult, ...]) -> list[list[dict[str, Any]]]:
    """Every field of every run but the time it took."""
    return [
        [{**dataclasses.asdict(run), "time_s": None} for run in result.runs] for result in results
    ]


async def test_a_batch_has_the_local_sandboxs_verdicts(
    worker: WorkerProcess, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        "/v1/executions", content=encode_batch(BATCH), headers=worker.headers()
    )
    assert response.status_code == 200, response.text
    remote = decode_results(response.content, BATCH)
    local_box = await BubblewrapSandbox.create(workers=2)
    try:
        local = tuple(await asyncio.gather(*(local_box.run(r) for r in BATCH)))
    finally:
        await local_box.aclose()
    assert [[run.status for run in result.runs] for result in remote] == EXPECTED
    assert comparable(remote) == comparable(local)
    assert remote[0].runs[2].stdout == "5\n"
    assert remote[3].runs[0].stdout == "cba\n"
    assert remote[4].runs[0].truncated
    assert [run.return_json for run in remote[6].runs] == ["[0,1]", "[0,1]"]
    assert remote[7].runs[0].error == "ZeroDivisionError: integer division or modulo by zero"
    assert all(run.time_s > 0 for result in remote for run in result.runs)
    completed = [e for e in worker.events() if e.get("event") == "batch_completed"]
    assert completed[-1]["programs"] == len(BATCH)
    assert "boom" not in worker.text()  # programs are never logged


async def test_the_wire_format_by_hand(worker: WorkerProcess, http: httpx.AsyncClient) -> None:
    body = {"requests": [{"program": "print(input().upper())", "inputs": ["hi", "\u00e9"]}]}
    response = await http.post("/v1/executions", json=body, headers=worker.headers())
    assert response.status_code == 200
    runs = response.json()["results"][0]["runs"]
    assert [(r["status"], r["stdout"], r["truncated"]) for r in runs] == [
        ("OK", "HI\n", False),
        ("OK", "\u00c9\n", False),
    ]
    assert set(runs[0]) == {
        "status",
        "stdout",
        "stderr",
        "return_json",
        "error",
        "time_s",
        "truncated",
    }


async def test_ready_after_the_self_test_and_health(
    worker: WorkerProcess, http: httpx.AsyncClient
) -> None:
    ready = await http.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "workers": 2, "queue": 2, "in_flight": 0}
    assert (await http.get("/ready", headers=worker.headers())).status_code == 200
    assert (await http.get("/health")).json() == {"status": "ok"}
    events = [e["event"] for e in worker.events()]
    assert events.index("worker_listening") < events.index("worker_sandbox_ready")


async def test_a_bad_token_is_401(worker: WorkerProcess, http: httpx.AsyncClient) -> None:
    body = encode_batch(BATCH[:1])
    for headers in ({}, worker.headers("wrong-token-0123456789"), {"authorization": TOKEN}):
        refused = await http.post("/v1/executions", content=body, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["type"] == "authentication_error"
        assert refused.json()["error"]["code"] == "invalid_token"
    wrong = await http.get("/ready", headers=worker.headers("wrong-token-0123456789"))
    assert wrong.status_code == 401  # a client finds a token mismatch when it checks readiness


async def test_oversize_and_malformed_batches_are_400_naming_the_field(
    worker: WorkerProcess, http: httpx.AsyncClient
) -> None:
    many = ExecutionRequest("print(1)", ("",))
    loose = ExecutionRequest("print(1)", ("",), limits=Limits(memory_mb=4096))
    cases = {
        encode_batch([many] * 65): "requests",
        encode_batch([ExecutionRequest("print(1)", ("",) * 257)]): "requests[0].inputs",
        encode_batch([ExecutionRequest("print(1)", ("",) * 200)] * 6): "requests",
        encode_batch([many, loose]): "requests[1].limits.memory_mb",
        encode_batch([ExecutionRequest("#" * (300 << 10), ("",))]): "requests[0].program",
        b'{"requests": [{"program": "print(1)", "inputs": [1]}]}': "requests[0].inputs[0]",
        b'{"requests": [{"program": "x", "inputs": [], "mode": "function"}]}': (
            "requests[0].entry_point"
        ),
        b'{"requests": [{"program": "x", "inputs": [], "extra": 1}]}': "requests[0].extra",
        b'{"requests": [], "x": 1}': "requests",
        b'{"requests": [{"program": "x", "inputs": [], "limits": {"wall_time_s": NaN}}]}': None,
        b"not json": None,
    }
    for body, param in cases.items():
        refused = await http.post("/v1/executions", content=body, headers=worker.headers())
        assert refused.status_code == 400, (param, refused.text)
        error = refused.json()["error"]
        assert (error["type"], error["code"], error["param"]) == (
            "invalid_request_error",
            "invalid_batch",
            param,
        )
    assert "#####" not in worker.text()


async def test_a_client_that_leaves_cancels_its_batch(
    worker: WorkerProcess, http: httpx.AsyncClient
) -> None:
    program = ExecutionRequest("import time\ntime.sleep(20)\n", ("",), limits=Limits(30, 30))
    sent = http.post("/v1/executions", content=encode_batch([program]), headers=worker.headers())
    task = asyncio.ensure_future(sent)
    deadline = time.monotonic() + 20
    while (await http.get("/ready")).json()["in_flight"] == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    while not any(e.get("event") == "batch_abandoned" for e in worker.events()):
        assert time.monotonic() < deadline, worker.text()
        await asyncio.sleep(0.1)
    assert (await http.get("/ready")).json()["in_flight"] == 0
    # NOTE: one interpreter per idle warm session (2); the sleeper and its zygote would be 2 more
    while len(_interpreters(worker.pid)) > 2:
        assert time.monotonic() < deadline, _interpreters(worker.pid)
        await asyncio.sleep(0.1)


def _interpreters(root: int) -> list[int]:
    """The sandboxed interpreters (zygotes and the programs they forked) below ``root``."""
    found = []
    for pid in descendants(root):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[:3] == [b"/usr/bin/python3", b"-I", b"-S"]:
            found.append(pid)
    return found


# --- the app in-process with its real sandbox: states a running worker rarely shows ---------


@pytest.fixture
async def small_app() -> AsyncIterator[tuple[httpx.AsyncClient, WorkerState]]:
    config = WorkerConfig(
        workers=1, queue=0, token=TOKEN, caps=BatchCaps(max_body_bytes=4096), selftest_retry_s=60
    )
    state = WorkerState(config, SandboxHolder(bubblewrap_opener(config), retry_s=60))
    app = build_worker_app(state)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://worker.test",
            headers={"authorization": f"Bearer {TOKEN}"},
        ) as client:
            deadline = time.monotonic() + 30
            while (await client.get("/ready")).status_code != 200:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            yield client, state


async def test_a_body_over_the_cap_is_413(small_app: tuple[httpx.AsyncClient, WorkerState]) -> None:
    client, _ = small_app
    big = encode_batch([ExecutionRequest("#" * 5000, ("",))])
    refused = await client.post("/v1/executions", content=big)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "batch_too_large"


async def test_a_full_worker_is_429_with_retry_after(
    small_app: tuple[httpx.AsyncClient, WorkerState],
) -> None:
    client, state = small_app
    slow = encode_batch([ExecutionRequest("import time\ntime.sleep(1)\nprint(1)", ("",))])
    first = asyncio.ensure_future(client.post("/v1/executions", content=slow))
    deadline = time.monotonic() + 20
    while state.in_flight == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    busy = await client.post("/v1/executions", content=slow)
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "worker_busy"
    assert (await first).status_code == 200


async def test_a_sandbox_that_breaks_is_tested_again_before_it_serves(
    small_app: tuple[httpx.AsyncClient, WorkerState],
) -> None:
    client, state = small_app
    async with state.holder.lease() as box:
        assert box is not None
        await box.aclose()  # broken behind the worker's back: its pool is gone
    batch = encode_batch([ExecutionRequest("print(7)", ("",))])
    broken = await client.post("/v1/executions", content=batch)
    assert broken.status_code == 503
    assert broken.json()["error"]["code"] == "sandbox_unavailable"
    not_ready = await client.get("/ready")
    assert not_ready.status_code == 503  # until a fresh sandbox passed the self-test
    assert "re-testing" in not_ready.json()["error"]["message"]
    deadline = time.monotonic() + 30
    while (await client.get("/ready")).status_code != 200:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    again = await client.post("/v1/executions", content=batch)
    assert again.json()["results"][0]["runs"][0]["stdout"] == "7\n"


async def test_a_sandbox_that_cannot_open_is_never_ready(tmp_path: Path) -> None:
    config = WorkerConfig(token=TOKEN, bwrap=str(tmp_path / "no-bwrap"))
    state = WorkerState(config, SandboxHolder(bubblewrap_opener(config), retry_s=60))
    app = build_worker_app(state)
    canary = tmp_path / "attack-ran"
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker.test") as client:
            deadline = time.monotonic() + 30
            while "not finished" in (await client.get("/ready")).text:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            ready = await client.get("/ready")
            program = ExecutionRequest(f"open({str(canary)!r}, 'w')", ("",))
            refused = await client.post(
                "/v1/executions",
                content=encode_batch([program]),
                headers={"authorization": f"Bearer {TOKEN}"},
            )
            health = await client.get("/health")
    assert ready.status_code == 503
    assert "bubblewrap not found" in ready.json()["error"]["message"]
    assert ready.json()["error"]["code"] == "sandbox_unavailable"
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert health.status_code == 200
    assert not canary.exists()


def test_sigterm_drains_the_running_batch_and_exits_0(tmp_path: Path) -> None:
    worker = WorkerProcess(tmp_path, "--workers", "1").start()
    try:
        body = encode_batch(
            [ExecutionRequest("import time\ntime.sleep(1.5)\nprint('done')", ("",))]
        )
        with httpx.Client(base_url=worker.url, timeout=30, headers=worker.headers()) as client:
            pending = _post_later(client, body)
            while json.loads(client.get("/ready").text).get("in_flight") != 1:
                time.sleep(0.05)
            status = worker.terminate()
            answer = pending.result(timeout=30)
    finally:
        worker.stop()
    assert status == 0, worker.text()
    assert answer.status_code == 200
    assert answer.json()["results"][0]["runs"][0]["stdout"] == "done\n"
    events = [e.get("event") for e in worker.events()]
    assert events.index("worker_draining") < events.index("worker_stopped")
    assert not os.path.exists(f"/proc/{worker.pid}")


def _post_later(client: httpx.Client, body: bytes) -> Any:
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(client.post, "/v1/executions", content=body)
    pool.shutdown(wait=False)
    return future
