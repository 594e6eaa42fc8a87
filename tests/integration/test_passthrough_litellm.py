"""Config-mapped models are served through litellm: fields reach the provider, errors keep class."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from proxy.app import create_app
from tests.fake_upstream import FakeUpstream, Reply
from tests.sse import sse_payloads

pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning")

CHAT = {"model": "coder", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def mapped_client(
    make_settings, fake_upstream: FakeUpstream
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        upstream_api_base=None,
        models={"coder": {"model": "openai/fake-coder", "api_base": fake_upstream.base_url}},
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def test_mapped_chat_forwards_every_field(mapped_client, fake_upstream):
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
        "n": 2,
        "seed": 3,
        "logprobs": True,
        "x_vendor": {"a": 1},
        "response_format": {"type": "json_object"},
        "sstar": {"samples": 1},
    }
    response = await mapped_client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.json()["model"] == "coder"
    assert len(response.json()["choices"]) == 2
    sent = fake_upstream.last.json
    assert sent["model"] == "fake-coder"
    expected = {k: v for k, v in body.items() if k not in ("model", "sstar")}
    assert {k: sent[k] for k in expected} == expected


async def test_mapped_stream_is_sse_with_done(mapped_client):
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    response = await mapped_client.post("/v1/chat/completions", json=body)
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert chunks[-1]["usage"]["total_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello from the fake upstream."


async def test_mapped_completions_and_embeddings(mapped_client, fake_upstream):
    completion = await mapped_client.post("/v1/completions", json={"model": "coder", "prompt": "x"})
    assert completion.json()["choices"][0]["text"] == "Hello from the fake upstream."
    embedding = await mapped_client.post("/v1/embeddings", json={"model": "coder", "input": "x"})
    assert embedding.json()["data"][0]["embedding"] == [0.1, 0.2, 0.3, 0.4]
    assert fake_upstream.last.path == "/v1/embeddings"


async def test_mapped_models_are_listed_with_aliases(mapped_client):
    ids = [m["id"] for m in (await mapped_client.get("/v1/models")).json()["data"]]
    assert ids == ["coder", "sstar/coder"]


@pytest.mark.parametrize(
    ("status", "error_type"), [(400, "invalid_request_error"), (429, "rate_limit_error")]
)
async def test_mapped_errors_keep_their_status(mapped_client, fake_upstream, status, error_type):
    fake_upstream.responder = lambda path, body: Reply(status=status, error="no way")
    response = await mapped_client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type
    assert response.json()["error"]["message"] == "no way"


async def test_mapped_upstream_ignoring_n_is_fanned_out(mapped_client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(texts=["one"])
    response = await mapped_client.post("/v1/chat/completions", json={**CHAT, "n": 2})
    assert response.status_code == 200
    assert [c["index"] for c in response.json()["choices"]] == [0, 1]
    assert response.headers["x-sstar-fanout"] == "1 call(s) added 1 choice(s)"
    assert [r.json.get("n") for r in fake_upstream.requests] == [2, 1]


async def test_mapped_stream_ignoring_n_is_fanned_out(mapped_client, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(texts=["one"])
    body = {**CHAT, "n": 2, "stream": True}
    response = await mapped_client.post("/v1/chat/completions", json=body)
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert {c["index"] for chunk in chunks for c in chunk["choices"]} == {0, 1}
    assert len({chunk["id"] for chunk in chunks}) == 1
