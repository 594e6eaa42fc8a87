"""The serving config: settings reach the protocol's limits, our protocol is always the one
served, and uvicorn's own timeouts are derived from ours (not left at its defaults)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from proxy.server.config import KEEPALIVE_TIMEOUT_S, ServerLimits
from proxy.server.protocol import BoundedHttpToolsProtocol
from proxy.server.server import GRACE_S, build_server
from proxy.settings import Settings


async def _app(scope, receive, send) -> None:  # pragma: no cover - never called
    raise AssertionError


def test_settings_become_the_limits():
    settings = Settings(max_header_bytes=2048, client_read_timeout_s=7, drain_timeout_s=12)
    limits = ServerLimits.from_settings(settings)
    assert (limits.max_header_bytes, limits.read_timeout_s, limits.drain_timeout_s) == (
        2048,
        7,
        12,
    )
    assert limits.keepalive_timeout_s == KEEPALIVE_TIMEOUT_S


def test_defaults_and_bounds():
    settings = Settings()
    assert (settings.max_header_bytes, settings.client_read_timeout_s) == (65536, 30)
    assert settings.drain_timeout_s == 30
    with pytest.raises(ValidationError):
        Settings(max_header_bytes=512)
    with pytest.raises(ValidationError):
        Settings(client_read_timeout_s=0)
    with pytest.raises(ValidationError):
        Settings(drain_timeout_s=-1)


def test_the_server_serves_our_protocol_with_uvicorns_timeouts_derived():
    limits = ServerLimits(max_header_bytes=4096, drain_timeout_s=2.5)
    config = build_server(_app, limits).config
    config.load()
    assert config.http_protocol_class is BoundedHttpToolsProtocol
    assert config.timeout_keep_alive == KEEPALIVE_TIMEOUT_S > 5  # above httpx's pool expiry
    assert config.timeout_graceful_shutdown is not None
    assert config.timeout_graceful_shutdown >= 2.5 + GRACE_S
    assert config.h11_max_incomplete_event_size == 4096  # should anyone run h11 with it
    assert config.ws == "none"
