"""``user`` reaches an OpenAI-compatible server through litellm (it used to be dropped).

litellm lists ``user`` for ``openai/`` models only when they are in OpenAI's catalogue and drops
it silently for every other model, so neither S*'s sub-calls nor a mapped model's pass-through
carried it. Checked against what the fake upstream received.
"""

from __future__ import annotations

import pytest

from proxy.settings import Settings
from proxy.upstream.base import Message, UpstreamRequest
from proxy.upstream.litellm_client import (
    LiteLLMPassthrough,
    LiteLLMUpstream,
    _keep_user,
    close_clients,
)
from proxy.upstream.routing import LiteLLMRoute

FIELDS = {"user": "end-user-7", "top_p": 0.8, "presence_penalty": 0.5, "logit_bias": {"42": -5}}


async def test_sub_calls_carry_user_and_the_sampling_fields(fake_upstream) -> None:
    upstream = LiteLLMUpstream(Settings(upstream_api_base=fake_upstream.base_url))
    try:
        await upstream.complete(
            UpstreamRequest(model="fake-model", messages=(Message("user", "hi"),), extra=FIELDS)
        )
    finally:
        await upstream.aclose()
    sent = fake_upstream.last.json
    assert {key: sent.get(key) for key in FIELDS} == FIELDS
    assert "allowed_openai_params" not in sent  # litellm's own knob, not a wire field


@pytest.mark.parametrize("model", ["openai/fake-model", "hosted_vllm/fake-model"])
async def test_pass_through_of_a_mapped_model_keeps_user(fake_upstream, model) -> None:
    route = LiteLLMRoute("public", model, fake_upstream.base_url, "sk-x")
    passthrough = LiteLLMPassthrough(Settings(upstream_retries=0))
    params = {"messages": [{"role": "user", "content": "x"}], "user": "end-user-7"}
    try:
        await passthrough.forward("chat/completions", route, params)
    finally:
        await passthrough.aclose()
        await close_clients()  # litellm's own client for hosted_vllm/ (no client of ours)
    assert fake_upstream.last.json["user"] == "end-user-7"


def test_other_providers_keep_litellms_own_mapping_of_user() -> None:
    anthropic = {"model": "anthropic/claude-x", "user": "u"}
    assert _keep_user(anthropic) == anthropic  # litellm maps it to metadata.user_id
    without = {"model": "openai/m", "top_p": 1}
    assert _keep_user(without) == without
    kept = _keep_user({"model": "openai/m", "user": "u", "allowed_openai_params": ["x"]})
    assert kept["allowed_openai_params"] == ["x", "user"]
