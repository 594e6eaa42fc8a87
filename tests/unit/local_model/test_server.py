"""The supervisor with a real child process speaking HTTP on loopback (a fake llama-server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from proxy.local_model.errors import ServerStartError
from proxy.local_model.prepared import PreparedModel
from proxy.local_model.server import LocalModelServer

FAKE = Path(__file__).with_name("fake_llama_server.py")


@pytest.fixture
def fake_model(tmp_path: Path) -> PreparedModel:
    binary = tmp_path / "llama-server"
    binary.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    binary.chmod(0o755)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    return PreparedModel(server_binary=binary, gguf=gguf, model_name="fake-coder")


@pytest.fixture
def server(fake_model: PreparedModel) -> Iterator[LocalModelServer]:
    srv = LocalModelServer(fake_model, startup_timeout=20, max_restarts=3)
    yield srv
    srv.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_until(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_command_line_carries_the_tuning_knobs(fake_model: PreparedModel) -> None:
    srv = LocalModelServer(fake_model, threads=1, parallel=4, ctx_per_slot=1024, port=1234)
    cmd = srv.command()
    assert cmd[0] == str(fake_model.server_binary)
    assert cmd[cmd.index("--alias") + 1] == "fake-coder"
    assert cmd[cmd.index("--threads") + 1] == "1"
    assert cmd[cmd.index("--parallel") + 1] == "4"
    assert cmd[cmd.index("--ctx-size") + 1] == "4096"
    assert srv.api_base == "http://127.0.0.1:1234/v1"


def test_rejects_nonsense_settings(fake_model: PreparedModel) -> None:
    with pytest.raises(ValueError, match="parallel"):
        LocalModelServer(fake_model, parallel=0)


def test_starts_healthy_and_stops_without_leaving_a_process(server: LocalModelServer) -> None:
    server.start()
    pid = server.pid
    assert pid is not None
    assert server.is_healthy()
    assert server.api_base.startswith("http://127.0.0.1:")
    assert server.model_name == "fake-coder"
    models = httpx.get(f"{server.api_base}/models").json()
    assert models["data"][0]["pid"] == pid
    log = server.log_path
    assert log is not None
    assert "listening on" in server.log_tail()
    server.stop()
    assert server.pid is None
    assert not _alive(pid)
    assert not log.exists()  # the temp log is removed with the server
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/health")


def test_waits_while_the_model_loads(
    server: LocalModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LOADING_S", "0.6")
    started = time.monotonic()
    server.start()
    assert time.monotonic() - started >= 0.5
    assert server.is_healthy()


def test_restarts_a_child_that_dies_on_the_same_port(server: LocalModelServer) -> None:
    server.start()
    first = server.pid
    assert first is not None
    port = server.port
    os.kill(first, signal.SIGKILL)
    _wait_until(lambda: server.pid not in (None, first) and server.is_healthy())
    assert server.restarts == 1
    assert server.port == port
    assert server.failure is None


def test_gives_up_after_max_restarts(fake_model: PreparedModel) -> None:
    srv = LocalModelServer(fake_model, startup_timeout=20, max_restarts=0)
    try:
        srv.start()
        pid = srv.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _wait_until(lambda: srv.failure is not None)
        assert "gave up" in (srv.failure or "")
    finally:
        srv.stop()


def test_a_child_that_exits_at_start_is_reported_with_its_output(
    server: LocalModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXIT_CODE", "3")
    with pytest.raises(ServerStartError, match=r"(?s)exited with code 3.*failing on purpose"):
        server.start()
    assert server.pid is None


def test_a_child_that_never_gets_healthy_times_out(
    fake_model: PreparedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LOADING_S", "60")
    srv = LocalModelServer(fake_model, startup_timeout=0.5)
    with pytest.raises(ServerStartError, match="did not report healthy"):
        srv.start()
    assert srv.pid is None


def test_a_missing_binary_says_how_to_fix_it(tmp_path: Path) -> None:
    model = PreparedModel(tmp_path / "nope", tmp_path / "m.gguf", "x")
    with pytest.raises(ServerStartError, match=r"proxy\.local_model prepare"):
        LocalModelServer(model).start()


def test_start_twice_is_a_programming_error(server: LocalModelServer) -> None:
    server.start()
    with pytest.raises(RuntimeError, match="twice"):
        server.start()


async def test_async_context_manager(fake_model: PreparedModel, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    async with LocalModelServer(fake_model, log_path=log) as srv:
        pid = srv.pid
        assert pid is not None
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{srv.base_url}/health")).status_code == 200
    assert not _alive(pid)
    assert log.exists()  # a caller-provided log is kept


def test_sync_context_manager(fake_model: PreparedModel) -> None:
    with LocalModelServer(fake_model) as srv:
        pid = srv.pid
        assert pid is not None
    assert not _alive(pid)


def test_child_outlives_the_thread_that_called_start(server: LocalModelServer) -> None:
    # PR_SET_PDEATHSIG fires when the forking *thread* exits; the supervisor thread forks.
    starter = threading.Thread(target=server.start)
    starter.start()
    starter.join()
    pid = server.pid
    assert pid is not None
    time.sleep(0.5)
    assert server.pid == pid
    assert server.is_healthy()
    assert server.restarts == 0


def test_child_dies_with_a_killed_parent(fake_model: PreparedModel, tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from proxy.local_model import LocalModelServer, PreparedModel\n"
        f"m = PreparedModel(Path({str(fake_model.server_binary)!r}), Path('m'), 'x')\n"
        "s = LocalModelServer(m)\n"
        "s.start()\n"
        "print(s.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert _alive(child)
        finally:
            parent.kill()
    _wait_until(lambda: not _alive(child), timeout=10)
