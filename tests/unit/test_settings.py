"""Settings: sources and their precedence, parsing, bounds and unsafe combinations."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from proxy.errors import ConfigError
from proxy.settings import Settings


def test_defaults():
    settings = Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.upstream_api_base is None
    assert not settings.has_upstream
    assert settings.api_keys == []
    assert settings.sstar_mode == "auto"
    assert settings.num_samples == 8
    assert settings.sandbox_backend == "bubblewrap"


def test_environment_is_read_with_prefix(monkeypatch):
    monkeypatch.setenv("SSTAR_UPSTREAM_API_BASE", "http://gpu:8000/v1/")
    monkeypatch.setenv("SSTAR_UPSTREAM_API_KEY", "sk-up")
    monkeypatch.setenv("SSTAR_API_KEYS", " k1, k2 ,,")
    monkeypatch.setenv("SSTAR_PORT", "9001")
    settings = Settings.load()
    assert settings.upstream_api_base == "http://gpu:8000/v1"
    assert settings.upstream_api_key is not None
    assert settings.upstream_api_key.get_secret_value() == "sk-up"
    assert settings.client_keys() == (b"k1", b"k2")
    assert settings.port == 9001
    assert "sk-up" not in repr(settings)


def test_yaml_file_then_env_then_overrides(tmp_path: Path, monkeypatch):
    config = tmp_path / "sstar.yaml"
    config.write_text(
        "port: 7000\nnum_samples: 4\nmodels:\n"
        "  claude:\n    model: anthropic/claude-x\n    api_key_env: ANTHROPIC_KEY\n"
    )
    monkeypatch.setenv("SSTAR_CONFIG", str(config))
    monkeypatch.setenv("SSTAR_NUM_SAMPLES", "6")
    monkeypatch.setenv("ANTHROPIC_KEY", "sk-ant")
    settings = Settings.load(host="0.0.0.0", port=None)  # noqa: S104
    assert settings.port == 7000  # YAML (the None override is ignored)
    assert settings.num_samples == 6  # env beats YAML
    assert settings.host == "0.0.0.0"  # noqa: S104 - override beats everything
    assert settings.models["claude"].model == "anthropic/claude-x"
    assert settings.models["claude"].api_key() == "sk-ant"
    assert settings.has_upstream


def test_config_flag_beats_env_var(tmp_path: Path, monkeypatch):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("port: 1111\n")
    second.write_text("port: 2222\n")
    monkeypatch.setenv("SSTAR_CONFIG", str(first))
    assert Settings.load(second).port == 2222


def test_missing_config_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        Settings.load(tmp_path / "missing.yaml")


def test_unknown_yaml_keys_are_refused(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("num_sample: 3\n")
    with pytest.raises(ValidationError, match="num_sample"):
        Settings.load(config)


@pytest.mark.parametrize(
    "values",
    [
        {"sandbox_backend": "local", "environment": "production"},
        {"num_samples": 20, "max_samples": 16},
        {"debug_rounds": 5, "max_rounds": 4},
        {"deadline_s": 700},
        {"num_samples": 0},
        {"keepalive_interval_s": 30},
        {"upstream_api_base": "gpu:8000"},
        {"models": {"sstar/x": {"model": "openai/x"}}},
        {"sstar_mode": "sometimes"},
    ],
)
def test_unsafe_or_invalid_values_are_refused(values):
    with pytest.raises(ValidationError):
        Settings(**values)


def test_local_sandbox_is_fine_in_development():
    assert Settings(sandbox_backend="local").sandbox_backend == "local"


def test_cache_dir_follows_xdg(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().cache_dir == tmp_path / "sstar-proxy"


def test_upstream_bounds_come_from_the_environment(monkeypatch):
    assert Settings().max_fanout == 16
    monkeypatch.setenv("SSTAR_MAX_FANOUT", "3")
    monkeypatch.setenv("SSTAR_REQUEST_TIMEOUT_S", "45")
    settings = Settings.load()
    assert (settings.max_fanout, settings.request_timeout_s) == (3, 45)
    with pytest.raises(ValidationError):
        Settings(max_fanout=-1)


def test_a_runs_deadline_is_within_the_request_timeout():
    assert Settings(deadline_s=120, request_timeout_s=30).scaling_defaults().deadline_s == 30
    assert Settings(deadline_s=20, request_timeout_s=30).scaling_defaults().deadline_s == 20
