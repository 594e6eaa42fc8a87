"""Settings of remote sandbox workers: ``SSTAR_SANDBOX_URLS`` and ``SSTAR_SANDBOX_TOKEN``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from proxy.settings import Settings

TOKEN = "0123456789abcdef-shared"  # noqa: S105 - a test secret


def test_no_workers_by_default() -> None:
    settings = Settings()
    assert settings.sandbox_urls == []
    assert settings.sandbox_token_value() is None


def test_urls_and_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SSTAR_SANDBOX_URLS", " http://w1:8300/, https://w2.internal:8300 ,,http://w1:8300"
    )
    monkeypatch.setenv("SSTAR_SANDBOX_TOKEN", TOKEN)
    settings = Settings.load()
    assert settings.sandbox_urls == ["http://w1:8300", "https://w2.internal:8300"]
    assert settings.sandbox_token_value() == TOKEN
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())


def test_loopback_workers_need_no_token() -> None:
    urls = ["http://127.0.0.1:8300", "http://localhost:8301", "http://[::1]:8302"]
    assert Settings(sandbox_urls=urls).sandbox_urls == urls


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"sandbox_urls": ["http://worker:8300"]}, "sandbox_token is required"),
        ({"sandbox_urls": ["worker:8300"], "sandbox_token": TOKEN}, "not an http"),
        ({"sandbox_urls": ["ftp://worker"], "sandbox_token": TOKEN}, "not an http"),
        ({"sandbox_urls": ["http://w:1/?a=1"], "sandbox_token": TOKEN}, "no query"),
        ({"sandbox_urls": ["http://127.0.0.1:1"], "sandbox_token": "short"}, "16 characters"),
        (
            {"sandbox_urls": ["http://127.0.0.1:1"], "sandbox_backend": "local"},
            "contradicts sandbox_urls",
        ),
        ({"sandbox_urls": [f"http://w{i}:1" for i in range(65)], "sandbox_token": TOKEN}, "64"),
    ],
)
def test_unusable_worker_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)
