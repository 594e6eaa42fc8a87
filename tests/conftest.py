"""Shared fixtures: a clean environment, the fake upstream, settings, and the app in-process.

Kept small and generic; feature-specific fixtures live next to their tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream
from tests.redis_server import RedisServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(autouse=True)
def _clean_sstar_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own SSTAR_* variables must not leak into tests."""
    for name in list(os.environ):
        if name.startswith("SSTAR_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def fake_upstream_server() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def fake_upstream(fake_upstream_server: FakeUpstream) -> Iterator[FakeUpstream]:
    """The session's fake upstream, reset for this test (default answers, no records)."""
    fake = fake_upstream_server
    fake.reset()
    fake.known_models = None
    yield fake
    fake.reset()


@pytest.fixture
def make_settings(fake_upstream: FakeUpstream) -> Callable[..., Settings]:
    """``make_settings(**overrides)``: settings pointing at the fake upstream, no retries."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "upstream_api_base": fake_upstream.base_url,
            "upstream_retries": 0,
            "upstream_retry_backoff_s": 0.0,
            "log_format": "console",
            "sstar_mode": "off",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The proxy with its lifespan running (services on ``app.state``)."""
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to ``app`` in-process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as http:
        yield http


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real ``redis-server`` of its own for one test (a Unix socket: ``tests.redis_server``)."""
    # NOTE: a short directory: a Unix socket path must stay under 108 bytes.
    server = RedisServer(Path(tempfile.mkdtemp(prefix="redis-"))).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
