"""``python -m sandbox serve``'s configuration: flags over environment, and the token rule."""

from __future__ import annotations

import pytest

from sandbox.cli import _parser, main
from sandbox.service.config import WorkerConfigError, config_from_args, is_loopback

TOKEN = "a-long-enough-shared-token"  # noqa: S105 - a test secret
ANY = "0.0.0.0"  # noqa: S104 - the address under test, never bound here


def config(*argv: str, **env: str):
    return config_from_args(_parser().parse_args(["serve", *argv]), env)


def test_defaults_bind_loopback_on_8300_without_a_token() -> None:
    made = config()
    assert (made.host, made.port, made.token) == ("127.0.0.1", 8300, None)
    assert made.queue == made.workers >= 1
    assert made.capacity == 2 * made.workers


def test_flags_win_over_the_environment() -> None:
    env = {
        "SSTAR_SANDBOX_HOST": ANY,
        "SSTAR_SANDBOX_PORT": "9000",
        "SSTAR_SANDBOX_TOKEN": TOKEN,
    }
    assert (config(**env).host, config(**env).port) == (ANY, 9000)
    made = config("--host", "127.0.0.1", "--port", "8301", "--workers", "3", "--queue", "0", **env)
    assert (made.host, made.port, made.workers, made.queue) == ("127.0.0.1", 8301, 3, 0)
    assert made.token == TOKEN
    assert TOKEN not in repr(made)


def test_limits_maxima_come_from_the_flags() -> None:
    made = config("--max-wall-time", "12", "--max-memory-mb", "512")
    maxima = made.caps.max_limits
    assert (maxima.wall_time_s, maxima.cpu_time_s, maxima.memory_mb) == (12.0, 12.0, 512)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--host", ANY], {}, f"refusing to listen on {ANY} without a token"),
        ([], {"SSTAR_SANDBOX_HOST": "10.1.2.3"}, "without a token"),
        (["--host", "::"], {"SSTAR_SANDBOX_TOKEN": "short"}, "at least 16 characters"),
        ([], {"SSTAR_SANDBOX_PORT": "http"}, "is not a port number"),
        (["--port", "70000"], {}, "is not a port number"),
        (["--workers", "-1"], {}, "--workers must be at least 1"),
        (["--max-wall-time", "0"], {}, "must be positive"),
    ],
)
def test_unusable_configurations_are_refused(argv, env, message) -> None:
    with pytest.raises(WorkerConfigError, match=message):
        config(*argv, **env)


def test_serve_exits_2_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SSTAR_SANDBOX_TOKEN", raising=False)
    assert main(["serve", "--host", ANY]) == 2
    err = capsys.readouterr().err
    assert f"refusing to listen on {ANY} without a token" in err
    assert "SSTAR_SANDBOX_TOKEN" in err


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, [ANY, "::", "10.0.0.1", "worker.local", ""]))
