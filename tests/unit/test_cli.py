"""``sstar-proxy serve``: configuration errors, and the embedded model when no upstream is set."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

import proxy.local_model
from proxy.cli import UsageError, embedded_upstream, main
from proxy.local_model import BuildError, PreparedModel
from proxy.settings import Settings
from proxy.upstream.base import Message, UpstreamRequest
from proxy.upstream.litellm_client import LiteLLMUpstream

FAKE_SERVER = Path(__file__).parent / "local_model" / "fake_llama_server.py"


@pytest.fixture
def fake_prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Preparing the real model compiles llama.cpp; here a fake llama-server binary stands in."""
    binary = tmp_path / "llama-server"
    binary.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_SERVER} "$@"\n')
    binary.chmod(0o755)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    asked: list[str] = []

    def prepare(model: str, cache_dir: Path | None = None, **_: object) -> PreparedModel:
        asked.append(model)
        return PreparedModel(server_binary=binary, gguf=gguf, model_name=model)

    monkeypatch.setattr(proxy.local_model, "prepare_local_model", prepare)
    return asked


def test_a_configured_upstream_is_used_as_is(fake_prepare: list[str]) -> None:
    settings = Settings(upstream_api_base="http://127.0.0.1:9/v1")
    with embedded_upstream(settings) as served:
        assert served is settings
    assert fake_prepare == []


def test_without_upstream_the_embedded_model_serves_until_exit(fake_prepare: list[str]) -> None:
    settings = Settings(local_model="qwen2.5-coder-1.5b", num_samples=8)
    with embedded_upstream(settings) as served:
        assert served.upstream_api_base is not None
        assert served.upstream_api_base.startswith("http://127.0.0.1:")
        health = httpx.get(served.upstream_api_base.removesuffix("/v1") + "/health", timeout=5)
        assert health.status_code == 200
        assert served.upstream_is_llama_cpp
        assert served.judge == "reasoned"  # the 1.5B model's reasoned verdicts can decide
    assert fake_prepare == ["qwen2.5-coder-1.5b"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.upstream_api_base + "/models", timeout=2)


def test_the_small_embedded_model_judges_by_letter_unless_set(fake_prepare: list[str]) -> None:
    with embedded_upstream(Settings()) as served:
        assert served.judge == "scored"  # its reasoned verdicts only follow the position
    with embedded_upstream(Settings(judge="reasoned")) as served:
        assert served.judge == "reasoned"


def test_an_auxiliary_model_gets_its_own_server_and_the_judge(fake_prepare: list[str]) -> None:
    settings = Settings(local_aux_model="qwen2.5-coder-1.5b")
    with embedded_upstream(settings) as served:
        route = served.models["qwen2.5-coder-1.5b"]
        assert served.aux_model == "qwen2.5-coder-1.5b"
        assert route.api_base is not None
        assert route.api_base != served.upstream_api_base
        assert served.judge == "reasoned"  # the 1.5B model judges, so its style applies
        replies = asyncio.run(_ask_each(served, ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]))
    assert replies == ["served by qwen2.5-coder-0.5b", "served by qwen2.5-coder-1.5b"]
    assert fake_prepare == ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    for base in (served.upstream_api_base, route.api_base):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/models", timeout=2)


def test_the_same_model_as_auxiliary_starts_one_server(fake_prepare: list[str]) -> None:
    with embedded_upstream(Settings(local_aux_model="qwen2.5-coder-0.5b")) as served:
        assert served.aux_model is None
        assert served.models == {}
    assert fake_prepare == ["qwen2.5-coder-0.5b"]


async def _ask_each(settings: Settings, models: list[str]) -> list[str]:
    """One chat call per model through the upstream adapter S* uses (so through the router)."""
    upstream = LiteLLMUpstream(settings)
    try:
        replies = []
        for model in models:
            request = UpstreamRequest(model=model, messages=(Message("user", "hi"),))
            replies.append((await upstream.complete(request)).choices[0].text)
        return replies
    finally:
        await upstream.aclose()


def test_a_failed_preparation_is_a_clear_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> PreparedModel:
        raise BuildError("cmake failed: install cmake and a C++ compiler")

    monkeypatch.setattr(proxy.local_model, "prepare_local_model", broken)
    expected = "embedded model could not start: cmake failed"
    with pytest.raises(UsageError, match=expected), embedded_upstream(Settings()):
        pass


def test_invalid_configuration_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--config", "/nonexistent/sstar.yaml"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_invalid_environment_value_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(os.environ, "SSTAR_NUM_SAMPLES", "many")
    assert main(["serve"]) == 2
    assert "num_samples" in capsys.readouterr().err


def test_the_embedded_model_is_an_embedded_upstream_unless_told_otherwise() -> None:
    from proxy.cli import embedded_settings

    served = embedded_settings(Settings(), "http://127.0.0.1:9/v1")
    assert served.upstream_profile().kind == "embedded"
    assert served.scaling_defaults().one_sample_per_call is True
    told = embedded_settings(Settings(upstream_kind="llama_cpp"), "http://127.0.0.1:9/v1")
    assert told.upstream_profile().kind == "llama_cpp"
