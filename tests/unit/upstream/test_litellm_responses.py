"""The Responses API through litellm's bridge, against the fake upstream over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from proxy.errors import UpstreamRateLimitError, UpstreamStatusError
from proxy.settings import Settings
from proxy.upstream.litellm_client import OpenAIClientPool, close_clients
from proxy.upstream.litellm_responses import LiteLLMResponses
from proxy.upstream.routing import LiteLLMRoute, RelayRoute
from tests.fake_upstream import FakeUpstream, Reply


@pytest.fixture
async def adapter(fake_upstream: FakeUpstream) -> AsyncIterator[LiteLLMResponses]:
    settings = Settings(upstream_api_base=fake_upstream.base_url, upstream_retries=0)
    clients = OpenAIClientPool(timeout_s=30)
    yield LiteLLMResponses(settings, clients=clients)
    await clients.aclose()
    # NOTE: litellm's own handlers cache HTTP clients bound to this test's loop: close them here,
    # as the app's shutdown does, or a later test's flush leaves their sockets to the GC.
    await close_clients()


def _relay(fake: FakeUpstream) -> RelayRoute:
    return RelayRoute(model="fake-model", api_base=fake.base_url, api_key=None)


def _no_responses(path: str, body: dict[str, Any]) -> Reply | None:
    return Reply(status=404) if path == "responses" else None


async def test_bridge_answers_with_a_response_object(adapter, fake_upstream):
    fake_upstream.responder = _no_responses
    params = {"input": "hi", "instructions": "Be brief.", "max_output_tokens": 40}
    result = await adapter.forward(_relay(fake_upstream), params, bridge=True)
    assert isinstance(result, dict)
    assert result["object"] == "response"
    assert result["output"][0]["content"][0]["text"] == "Hello from the fake upstream."
    assert result["usage"]["output_tokens"] == 5
    assert "cost" not in result["usage"]  # litellm's own field
    (call,) = fake_upstream.requests
    assert call.path == "/v1/chat/completions"
    assert call.json["messages"][0] == {"role": "system", "content": "Be brief."}
    assert call.json["max_tokens"] == 40


async def test_bridge_streams_event_dicts(adapter, fake_upstream):
    fake_upstream.responder = _no_responses
    result = await adapter.forward(
        _relay(fake_upstream), {"input": "hi", "stream": True}, bridge=True
    )
    assert not isinstance(result, dict)
    events = [event async for event in result]
    kinds = [event["type"] for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "Hello from the fake upstream."


async def test_function_tools_are_dumped_by_alias(adapter, fake_upstream):
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    fake_upstream.responder = lambda path, body: Reply(tool_calls=[call])
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}]
    result = await adapter.forward(
        _relay(fake_upstream), {"input": "call f", "tools": tools}, bridge=True
    )
    assert isinstance(result, dict)
    (item,) = result["output"]
    assert item["type"] == "function_call"
    assert item["name"] == "f"
    assert "async_" not in item


async def test_upstream_errors_become_proxy_errors(adapter, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(status=429, error="slow down")
    with pytest.raises(UpstreamRateLimitError, match="slow down"):
        await adapter.forward(_relay(fake_upstream), {"input": "hi"}, bridge=True)
    fake_upstream.responder = lambda path, body: Reply(status=400, error="bad field")
    with pytest.raises(UpstreamStatusError) as caught:
        await adapter.forward(_relay(fake_upstream), {"input": "hi"}, bridge=True)
    assert caught.value.status_code == 400


async def test_a_mapped_model_shows_its_public_name(adapter, fake_upstream):
    fake_upstream.responder = _no_responses
    route = LiteLLMRoute(
        public_name="coder",
        litellm_model="hosted_vllm/fake-model",
        api_base=fake_upstream.base_url,
        api_key=None,
    )
    result = await adapter.forward(route, {"input": "hi", "stream": True}, bridge=True)
    assert not isinstance(result, dict)
    events = [event async for event in result]
    assert events[-1]["response"]["model"] == "coder"
    assert [r.path for r in fake_upstream.requests] == ["/v1/chat/completions"]


async def test_a_mapped_openai_model_uses_its_providers_responses_api(adapter, fake_upstream):
    route = LiteLLMRoute(
        public_name="gpt",
        litellm_model="openai/fake-model",
        api_base=fake_upstream.base_url,
        api_key="sk-test",
    )
    result = await adapter.forward(route, {"input": "hi"}, bridge=False)
    assert isinstance(result, dict)
    assert result["model"] == "gpt"
    assert result["output"][0]["content"][0]["text"] == "Hello from the fake upstream."
    assert [r.path for r in fake_upstream.requests] == ["/v1/responses"]
    assert fake_upstream.last.headers["authorization"] == "Bearer sk-test"
