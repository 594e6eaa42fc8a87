"""Settings of a shared deployment: trace access, the trace secret, forwarded header names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from proxy.settings import Settings


def test_defaults_keep_traces_local_and_forward_no_extra_header() -> None:
    settings = Settings()
    assert settings.public_traces is False
    assert settings.trace_secret is None
    assert settings.trace_secret_bytes() is None
    assert settings.forward_headers == []


def test_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSTAR_PUBLIC_TRACES", "true")
    monkeypatch.setenv("SSTAR_TRACE_SECRET", "s" * 32)
    monkeypatch.setenv("SSTAR_FORWARD_HEADERS", " X-Tenant, x-trace-id ,,")
    settings = Settings.load()
    assert settings.public_traces is True
    assert settings.trace_secret_bytes() == b"s" * 32
    assert "s" * 32 not in repr(settings)
    assert settings.forward_headers == ["x-tenant", "x-trace-id"]


def test_a_short_trace_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(trace_secret="short")  # noqa: S106 - a test value


@pytest.mark.parametrize(
    "names",
    ["Authorization", "x-api-key", "cookie", "host", "content-length", "x-sstar-mode", "bad name"],
)
def test_credentials_framing_ours_and_non_names_cannot_be_forwarded(names: str) -> None:
    with pytest.raises(ValidationError, match="forward_headers"):
        Settings(forward_headers=names)
