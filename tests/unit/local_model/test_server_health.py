"""The embedded model's health as ``/metrics`` reports it, read from a real supervised child
(the fake llama-server, a real process speaking HTTP on loopback)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import proxy.local_model
from proxy.cli import embedded_models
from proxy.local_model.prepared import PreparedModel
from proxy.local_model.server import LocalModelServer
from proxy.metrics import Metrics
from proxy.settings import Settings

FAKE = Path(__file__).with_name("fake_llama_server.py")


@pytest.fixture
def fake_model(tmp_path: Path) -> PreparedModel:
    binary = tmp_path / "llama-server"
    binary.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} "$@"\n')
    binary.chmod(0o755)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    return PreparedModel(server_binary=binary, gguf=gguf, model_name="fake-coder")


def _wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _up(metrics: Metrics, model: str) -> float | None:
    return metrics.registry.get_sample_value("sstar_embedded_model_up", {"model": model})


def test_up_while_the_child_runs_down_once_the_supervisor_gave_up(fake_model):
    server = LocalModelServer(fake_model, startup_timeout=20, max_restarts=0)
    metrics = Metrics(models=[server])
    assert _up(metrics, "fake-coder") == 0  # not started yet
    try:
        server.start()
        assert server.running
        assert _up(metrics, "fake-coder") == 1
        pid = server.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _wait_until(lambda: server.failure is not None)
        assert not server.running
        assert _up(metrics, "fake-coder") == 0
    finally:
        server.stop()
    assert _up(metrics, "fake-coder") == 0


def test_a_restarted_child_is_up_again_and_counted(fake_model):
    server = LocalModelServer(fake_model, startup_timeout=20, max_restarts=2)
    metrics = Metrics(models=[server])
    try:
        server.start()
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        _wait_until(lambda: server.pid not in (None, first))
        assert _up(metrics, "fake-coder") == 1
        restarts = {"model": "fake-coder"}
        value = metrics.registry.get_sample_value("sstar_embedded_model_restarts_total", restarts)
        assert value == 1
    finally:
        server.stop()


def test_serve_hands_the_embedded_servers_to_the_app(fake_model, monkeypatch):
    monkeypatch.setattr(proxy.local_model, "prepare_local_model", lambda *a, **k: fake_model)
    with embedded_models(Settings()) as (served, models):
        assert served.upstream_api_base is not None
        assert [m.model_name for m in models] == ["fake-coder"]
        assert all(m.running for m in models)
    assert not any(m.running for m in models)
    with embedded_models(Settings(upstream_api_base="http://127.0.0.1:9/v1")) as (_, none):
        assert none == ()
