"""Pass-through through the whole app (in-process) against the real loopback fake upstream."""

from __future__ import annotations

import httpx
import pytest

from tests.fake_upstream import Reply
from tests.sse import sse_payloads

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


async def test_chat_body_is_forwarded_byte_for_byte(client, fake_upstream):
    raw = (
        b'{"model": "fake-model",  "messages":[{"role":"user","content":"hi \\u00e9"}], '
        b'"x_vendor": {"a": [1, 2.50]}}'
    )
    response = await client.post(
        "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert fake_upstream.last.raw == raw
    assert fake_upstream.last.path == "/v1/chat/completions"


async def test_chat_response_is_the_upstreams_json(client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="42", headers={"x-upstream": "yes"})
    response = await client.post("/v1/chat/completions", json=CHAT)
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "42", "refusal": None}
    assert body["system_fingerprint"] == "fp_fake"
    assert response.headers["x-upstream"] == "yes"
    assert response.headers["x-request-id"]


async def test_extension_field_and_alias_are_removed_before_forwarding(client, fake_upstream):
    # The alias would force S*; mode off (in the extension) sends the request through instead.
    body = {**CHAT, "model": "sstar/fake-model", "sstar": {"mode": "off", "samples": 2}, "seed": 7}
    response = await client.post("/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["x-sstar-applied"] == "false"
    assert fake_upstream.last.json == {**CHAT, "seed": 7}


async def test_every_openai_field_is_forwarded(client, fake_upstream):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "strict": True,
                "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
            },
        }
    ]
    body = {
        **CHAT,
        "tools": tools,
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "n": 2,
        "logprobs": True,
        "top_logprobs": 1,
        "seed": 1,
        "stop": ["x"],
        "stream_options": {"include_usage": True},
        "reasoning_effort": "low",
        "metadata": {"k": "v"},
    }
    await client.post("/v1/chat/completions", json=body)
    assert fake_upstream.last.json == body


async def test_client_credentials_and_sstar_headers_stay_here(make_settings, fake_upstream):
    from asgi_lifespan import LifespanManager

    from proxy.app import create_app

    app = create_app(make_settings(upstream_api_key="sk-upstream"))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await http.post(
                "/v1/chat/completions",
                json=CHAT,
                headers={
                    "authorization": "Bearer client-key",
                    "x-api-key": "client-key",
                    "x-sstar-mode": "off",
                    "x-stainless-retry-count": "1",
                    "openai-organization": "org",
                },
            )
    seen = fake_upstream.last.headers
    assert seen["authorization"] == "Bearer sk-upstream"
    assert "x-api-key" not in seen
    assert "x-sstar-mode" not in seen
    assert seen["x-stainless-retry-count"] == "1"
    assert seen["openai-organization"] == "org"


async def test_stream_is_relayed_with_openai_framing(client, fake_upstream):
    fake_upstream.responder = lambda path, body: ["a b", "c"]
    body = {**CHAT, "stream": True, "n": 2, "stream_options": {"include_usage": True}}
    response = await client.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = sse_payloads(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0
    text = {0: "", 1: ""}
    for chunk in chunks[:-1]:
        for choice in chunk["choices"]:
            text[choice["index"]] += choice["delta"].get("content") or ""
    assert text == {0: "a b", 1: "c"}


async def test_midstream_failure_ends_with_error_event_and_done(client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="a b c d", fail_after_chunks=2)
    response = await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert response.status_code == 200
    events = sse_payloads(response.text)
    assert events[-1] == "[DONE]"
    error = events[-2]["error"]
    assert isinstance(error["message"], str)
    assert error["type"] == "upstream_error"
    assert next(e["choices"][0]["delta"] for e in events[:2])["role"] == "assistant"


async def test_completions_and_embeddings_pass_through(client, fake_upstream):
    completion = await client.post(
        "/v1/completions", json={"model": "fake-model", "prompt": "def f(", "suffix": ")"}
    )
    assert completion.json()["object"] == "text_completion"
    assert fake_upstream.last.json["suffix"] == ")"
    embedding = await client.post(
        "/v1/embeddings", json={"model": "fake-model", "input": ["a", "b"]}
    )
    assert [e["index"] for e in embedding.json()["data"]] == [0, 1]
    assert fake_upstream.last.path == "/v1/embeddings"


async def test_models_lists_upstream_models_and_aliases(client):
    response = await client.get("/v1/models")
    ids = [m["id"] for m in response.json()["data"]]
    assert ids == ["fake-model", "fake-coder", "sstar/fake-model", "sstar/fake-coder"]
    one = await client.get("/models/sstar/fake-coder")
    assert one.json()["id"] == "sstar/fake-coder"
    missing = await client.get("/v1/models/nope")
    assert missing.status_code == 404


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.parametrize("given", ["abc-123", None])
async def test_request_id_is_echoed(client, fake_upstream, given):
    headers = {"x-request-id": given} if given else {}
    response = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
    if given:
        assert response.headers["x-request-id"] == given
        return
    # No id sent: a fresh one per request, and the proxy invents no header for the upstream.
    assert response.headers["x-request-id"].startswith("req_")
    assert "x-request-id" not in fake_upstream.last.headers
    again = await client.post("/v1/chat/completions", json=CHAT)
    assert again.headers["x-request-id"].startswith("req_")
    assert again.headers["x-request-id"] != response.headers["x-request-id"]
