"""The official openai SDK against the proxy served by uvicorn on loopback: pass-through is
invisible.

Sync, async, streaming and ``with_raw_response`` clients; every error mapping as the SDK sees it;
client-key auth; a client that gives up cancels the upstream request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletionMessageParam

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply
from tests.servers import ServerThread

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
PROXY_KEY = "sk-proxy-test"


def _serve(fake: FakeUpstream, **overrides: object) -> ServerThread:
    values: dict[str, object] = {
        "upstream_api_base": fake.base_url,
        "upstream_api_key": "sk-upstream",
        "upstream_retries": 0,
        "sstar_mode": "off",
        "log_format": "console",
        "log_level": "warning",
        "request_timeout_s": 1.0,
    }
    values.update(overrides)
    return ServerThread(create_app(Settings(**values))).start()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def proxy_url(fake_upstream_server: FakeUpstream) -> Iterator[str]:
    server = _serve(fake_upstream_server)
    yield f"{server.url}/v1"
    server.stop()


@pytest.fixture
def sdk(proxy_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=proxy_url, api_key="anything", max_retries=0) as client:
        yield client


@pytest.fixture
async def async_sdk(proxy_url: str):
    async with AsyncOpenAI(base_url=proxy_url, api_key="anything", max_retries=0) as client:
        yield client


def test_sync_chat_and_raw_response(sdk, fake_upstream):
    raw = sdk.chat.completions.with_raw_response.create(model="fake-model", messages=MESSAGES)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the fake upstream."
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    assert raw.headers["x-request-id"].startswith("req_")
    assert fake_upstream.last.headers["authorization"] == "Bearer sk-upstream"
    assert fake_upstream.last.headers["user-agent"].startswith("OpenAI/Python")


async def test_async_chat_n3_and_logprobs(async_sdk, fake_upstream):
    fake_upstream.responder = lambda path, body: ["one", "two", "three"]
    completion = await async_sdk.chat.completions.create(
        model="fake-model", messages=MESSAGES, n=3, logprobs=True, top_logprobs=1
    )
    assert [c.message.content for c in completion.choices] == ["one", "two", "three"]
    first_token = completion.choices[0].logprobs.content[0]
    assert first_token.token == "one"  # noqa: S105
    assert fake_upstream.last.json["n"] == 3


def test_tool_calls_round_trip(sdk, fake_upstream):
    call = {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": '{"x":1}'}}
    fake_upstream.responder = lambda path, body: Reply(tool_calls=[call])
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"x": {"type": "integer"}},
                    "required": ["x"],
                    "additionalProperties": False,
                },
            },
        }
    ]
    completion = sdk.chat.completions.create(
        model="fake-model", messages=MESSAGES, tools=tools, tool_choice="auto"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.arguments == '{"x":1}'
    assert fake_upstream.last.json["tools"] == tools  # strict / additionalProperties intact


def test_streamed_tool_calls_keep_index_and_id(sdk, fake_upstream):
    call = {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    fake_upstream.responder = lambda path, body: Reply(tool_calls=[call])
    stream = sdk.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
    deltas = [c.choices[0].delta for c in stream if c.choices]
    calls = [d.tool_calls[0] for d in deltas if d.tool_calls]
    assert calls[0].id == "call_9"
    assert calls[0].function.name == "f"
    assert {c.index for c in calls} == {0}


def test_json_mode_is_forwarded(sdk, fake_upstream):
    fake_upstream.responder = lambda path, body: '{"answer": 4}'
    completion = sdk.chat.completions.create(
        model="fake-model", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content) == {"answer": 4}
    assert fake_upstream.last.json["response_format"] == {"type": "json_object"}


def test_stream_with_usage(sdk, fake_upstream):
    stream = sdk.chat.completions.create(
        model="fake-model",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the fake upstream."
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


async def test_async_stream_and_alias(async_sdk, fake_upstream):
    stream = await async_sdk.chat.completions.create(
        model="sstar/fake-model",
        messages=MESSAGES,
        stream=True,
        extra_body={"sstar": {"mode": "off", "samples": 3}},
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from the fake upstream."
    assert fake_upstream.last.json["model"] == "fake-model"
    assert "sstar" not in fake_upstream.last.json


def test_completions_embeddings_and_models(sdk, fake_upstream):
    completion = sdk.completions.create(model="fake-model", prompt="def add(", max_tokens=8)
    assert completion.choices[0].text == "Hello from the fake upstream."
    embedding = sdk.embeddings.create(model="fake-model", input=["a", "b"])
    assert embedding.data[1].embedding == pytest.approx([0.2, 0.4, 0.6, 0.8])
    ids = [m.id for m in sdk.models.list()]
    assert "fake-model" in ids
    assert "sstar/fake-model" in ids
    assert sdk.models.retrieve("sstar/fake-coder").id == "sstar/fake-coder"


@pytest.mark.parametrize(
    ("reply", "exception", "status"),
    [
        (Reply(status=400, error="bad"), openai.BadRequestError, 400),
        (Reply(status=401, error="upstream key"), openai.AuthenticationError, 401),
        (Reply(status=404, error="no model"), openai.NotFoundError, 404),
        (Reply(status=429, error="slow down"), openai.RateLimitError, 429),
        (Reply(status=500, error="oops"), openai.InternalServerError, 500),
        (Reply(status=503, error="busy"), openai.InternalServerError, 503),
    ],
)
def test_upstream_errors_reach_the_sdk_typed(sdk, fake_upstream, reply, exception, status):
    fake_upstream.responder = lambda path, body: reply
    with pytest.raises(exception) as caught:
        sdk.chat.completions.create(model="fake-model", messages=MESSAGES)
    assert caught.value.status_code == status
    assert caught.value.message.endswith(reply.error or "")


def test_timeout_is_504(sdk, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(delay_s=2)
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.chat.completions.create(model="fake-model", messages=MESSAGES)
    assert caught.value.status_code == 504


def test_bad_request_names_the_parameter(sdk):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="fake-model", messages=MESSAGES, n=0)
    assert caught.value.param == "n"
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_midstream_failure_raises_api_error_with_message(sdk, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="a b c d e", fail_after_chunks=2)
    stream = sdk.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError, match="upstream"):
        list(stream)


def test_client_keys_are_required_and_never_forwarded(fake_upstream_server, fake_upstream):
    server = _serve(fake_upstream_server, api_keys=f"other,{PROXY_KEY}")
    try:
        bad = OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
        with bad, pytest.raises(openai.AuthenticationError):
            bad.models.list()
        with OpenAI(base_url=f"{server.url}/v1", api_key=PROXY_KEY, max_retries=0) as good:
            good.chat.completions.create(model="fake-model", messages=MESSAGES)
        assert PROXY_KEY not in json.dumps(fake_upstream.last.headers)
    finally:
        server.stop()


def test_client_timeout_cancels_the_upstream_request(sdk, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(delay_s=2.5)
    with pytest.raises(openai.APITimeoutError):
        sdk.with_options(timeout=0.3).chat.completions.create(model="fake-model", messages=MESSAGES)
    assert fake_upstream.wait_for(lambda: fake_upstream.last.disconnected, timeout=2.0)


def test_closing_a_stream_cancels_the_upstream_stream(sdk, fake_upstream):
    words = " ".join(f"w{i}" for i in range(40))
    fake_upstream.responder = lambda path, body: Reply(text=words, chunk_delay_s=0.05)
    stream = sdk.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
    next(iter(stream))
    stream.close()
    assert fake_upstream.wait_for(lambda: fake_upstream.last.disconnected, timeout=2.0)
    assert not fake_upstream.last.completed
