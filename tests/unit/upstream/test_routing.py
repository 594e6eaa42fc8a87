"""ModelRouter: aliases, mapped models, the OpenAI-compatible base, and unknown models."""

from __future__ import annotations

import pytest

from proxy.errors import NotFoundError
from proxy.settings import Settings
from proxy.upstream.routing import LiteLLMRoute, ModelRouter, RelayRoute


def test_names_go_to_the_base_unchanged():
    router = ModelRouter(Settings(upstream_api_base="http://h/v1", upstream_api_key="k"))
    assert router.resolve("org/Model-7B") == RelayRoute("org/Model-7B", "http://h/v1", "k")
    assert router.resolve("sstar/org/Model-7B") == RelayRoute("org/Model-7B", "http://h/v1", "k")


def test_mapped_models_win_over_the_base(monkeypatch):
    monkeypatch.setenv("MY_KEY", "secret")
    settings = Settings(
        upstream_api_base="http://h/v1",
        models={"c": {"model": "anthropic/c", "api_base": "http://a", "api_key_env": "MY_KEY"}},
    )
    route = ModelRouter(settings).resolve("sstar/c")
    assert route == LiteLLMRoute("c", "anthropic/c", "http://a", "secret")


@pytest.mark.parametrize("name", ["other", "sstar/other", ""])
def test_unknown_model_without_base_is_404(name):
    router = ModelRouter(Settings(models={"c": {"model": "openai/c"}}))
    with pytest.raises(NotFoundError) as caught:
        router.resolve(name)
    assert caught.value.param == "model"
    assert caught.value.code == "model_not_found"
