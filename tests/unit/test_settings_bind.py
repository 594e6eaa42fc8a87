"""Production refuses to serve other machines without client keys (README "Security model")."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from proxy.cli import main
from proxy.settings import Settings, is_loopback_host


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "proxy.internal", ""])  # noqa: S104
def test_production_refuses_a_public_bind_without_keys(host: str) -> None:
    with pytest.raises(ValidationError, match="SSTAR_API_KEYS"):
        Settings(environment="production", host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_production_may_bind_loopback_without_keys(host: str) -> None:
    assert is_loopback_host(host)
    assert Settings(environment="production", host=host).host == host


def test_keys_allow_a_public_bind_in_production() -> None:
    settings = Settings(environment="production", host="0.0.0.0", api_keys="k1")  # noqa: S104
    assert settings.client_keys() == (b"k1",)


def test_development_binds_anywhere_without_keys() -> None:
    assert Settings(host="0.0.0.0").environment == "development"  # noqa: S104


def test_serve_exits_2_with_the_reason_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SSTAR_ENVIRONMENT", "production")
    monkeypatch.setenv("SSTAR_UPSTREAM_API_KEY", "sk-very-secret-upstream-key")
    assert main(["serve", "--host", "0.0.0.0"]) == 2  # noqa: S104
    err = capsys.readouterr().err
    assert "invalid configuration" in err
    assert "host='0.0.0.0'" in err
    assert "SSTAR_API_KEYS" in err
    assert "sk-very-secret" not in err
    assert "input_value" not in err
