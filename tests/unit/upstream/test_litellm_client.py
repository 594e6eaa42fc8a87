"""LiteLLMUpstream and the litellm pass-through, against the loopback fake upstream."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx2  # the http library the openai SDK is built on
import openai
import pytest

from proxy.errors import (
    ProxyError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from proxy.settings import Settings
from proxy.upstream.base import Message, UpstreamRequest
from proxy.upstream.litellm_client import LiteLLMPassthrough, LiteLLMUpstream
from proxy.upstream.litellm_errors import map_upstream_errors
from proxy.upstream.routing import LiteLLMRoute
from tests.fake_upstream import Reply
from tests.raw_upstream import refused_base_url

# litellm's streaming models trigger a pydantic UserWarning (a third-party typing detail).
pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly. qualifier:UserWarning")

REQUEST = httpx2.Request("POST", "http://upstream/v1/chat/completions")


def _status(status: int, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, headers=headers, request=REQUEST)


@pytest.mark.parametrize(
    ("raised", "expected", "status"),
    [
        (
            openai.RateLimitError("slow", response=_status(429, {"retry-after": "2"}), body=None),
            UpstreamRateLimitError,
            429,
        ),
        (openai.APITimeoutError(REQUEST), UpstreamTimeoutError, 504),
        (openai.APIConnectionError(request=REQUEST), UpstreamError, 502),
        (
            openai.BadRequestError(
                "litellm.BadRequestError: OpenAIException - bad tool",
                response=_status(400),
                body=None,
            ),
            UpstreamStatusError,
            400,
        ),
        (
            openai.InternalServerError("boom", response=_status(503), body=None),
            UpstreamStatusError,
            503,
        ),
        (TimeoutError(), UpstreamTimeoutError, 504),
    ],
)
def test_map_upstream_errors(raised, expected, status):
    with pytest.raises(expected) as caught, map_upstream_errors():
        raise raised
    assert type(caught.value) is expected
    assert caught.value.status_code == status
    assert caught.value.__cause__ is raised


class _LiteLLMWrapper(openai.InternalServerError):
    """Like litellm's exceptions: an openai subclass from another module, re-wrapping the cause."""


def _wrapped(cause: BaseException) -> _LiteLLMWrapper:
    wrapper = _LiteLLMWrapper(
        "litellm.InternalServerError: OpenAIException - wrapped", response=_status(500), body=None
    )
    wrapper.__cause__ = cause
    return wrapper


@pytest.mark.parametrize(
    ("cause", "status", "message"),
    [
        (
            openai.APIConnectionError(request=REQUEST),
            502,
            "upstream unreachable: Connection error.",
        ),
        (openai.APITimeoutError(REQUEST), 504, "upstream timed out: Request timed out."),
        (json.JSONDecodeError("Expecting value", "{x", 1), 502, "upstream returned invalid JSON"),
        (
            openai.RateLimitError(
                "Error code: 429",
                response=_status(429, {"retry-after": "6", "x-should-retry": "true"}),
                body={"message": "slow down", "type": "rate_limit_error", "code": "rl"},
            ),
            429,
            "slow down",
        ),
    ],
)
def test_litellm_wrappers_are_classified_by_what_the_sdk_raised(cause, status, message):
    with pytest.raises(UpstreamError) as caught, map_upstream_errors():
        raise _wrapped(cause)
    assert (caught.value.status_code, caught.value.message) == (status, message)
    if status == 429:
        assert isinstance(caught.value, UpstreamRateLimitError)
        assert (caught.value.retry_after_s, caught.value.should_retry) == (6.0, True)
        assert caught.value.code == "rl"


def test_other_exceptions_pass_unmapped():
    with pytest.raises(KeyError) as caught, map_upstream_errors():
        raise KeyError("ours")
    assert caught.value.__cause__ is None


def test_mapped_messages_lose_the_litellm_prefix():
    error = openai.BadRequestError(
        "litellm.BadRequestError: OpenAIException - bad tool", response=_status(400), body=None
    )
    with pytest.raises(UpstreamStatusError) as caught, map_upstream_errors():
        raise error
    assert caught.value.message == "bad tool"
    assert caught.value.error_type == "invalid_request_error"


def test_rate_limit_keeps_retry_after():
    error = openai.RateLimitError("slow", response=_status(429, {"retry-after": "2"}), body=None)
    with pytest.raises(UpstreamRateLimitError) as caught, map_upstream_errors():
        raise error
    assert caught.value.retry_after_s == 2.0


def test_proxy_errors_pass_unchanged():
    original = ProxyError("ours")
    with pytest.raises(ProxyError) as caught, map_upstream_errors():
        raise original
    assert caught.value is original


@pytest.fixture
async def make_upstream(make_settings):
    """``make_upstream(**settings)``: a LiteLLMUpstream closed after the test."""
    made: list[LiteLLMUpstream] = []

    def make(**overrides: object) -> LiteLLMUpstream:
        made.append(LiteLLMUpstream(make_settings(**overrides)))
        return made[-1]

    yield make
    for upstream in made:
        await upstream.aclose()


def _request(**overrides: object) -> UpstreamRequest:
    values: dict[str, object] = {
        "model": "fake-model",
        "messages": (Message("system", "be brief"), Message("user", "hi")),
    }
    values.update(overrides)
    return UpstreamRequest(**values)  # type: ignore[arg-type]


async def test_complete_sends_the_request_and_counts_choices(make_upstream, fake_upstream):
    fake_upstream.responder = lambda path, body: ["a", "b", "c"]
    upstream = make_upstream(upstream_api_key="sk-up")
    response = await upstream.complete(
        _request(n=3, temperature=0.5, seed=4, stop=("END",), max_tokens=9, extra={"top_p": 0.9})
    )
    assert [c.text for c in response.choices] == ["a", "b", "c"]
    assert response.usage.completion_tokens == 3
    sent = fake_upstream.last.json
    assert sent["model"] == "fake-model"
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert (sent["n"], sent["temperature"], sent["seed"], sent["stop"]) == (3, 0.5, 4, ["END"])
    assert (sent["max_tokens"], sent["top_p"]) == (9, 0.9)
    assert fake_upstream.last.headers["authorization"] == "Bearer sk-up"
    assert fake_upstream.last.headers["x-stainless-retry-count"] == "0"


@pytest.mark.parametrize(("llama_cpp", "expected"), [(False, 3), (True, 5)])
async def test_llama_cpp_usage_counts_every_choice(
    make_upstream, fake_upstream, llama_cpp, expected
):
    # llama.cpp's server reports the completion tokens of one choice when n > 1
    one_choice = {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    fake_upstream.responder = lambda path, body: Reply(
        texts=["one two three", "four five"], usage=one_choice
    )
    upstream = make_upstream(upstream_is_llama_cpp=llama_cpp)
    response = await upstream.complete(_request(n=2))
    assert response.usage.completion_tokens == expected
    assert response.usage.prompt_tokens == 4
    assert (fake_upstream.last.path == "/tokenize") is llama_cpp


async def test_complete_makes_one_attempt_the_engine_retries(make_upstream, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(
        status=503, error="busy", error_type="server_error", headers={"retry-after": "3"}
    )
    upstream = make_upstream(upstream_retries=2)
    with pytest.raises(UpstreamStatusError) as caught:
        await upstream.complete(_request())
    assert (caught.value.status_code, caught.value.message) == (503, "busy")
    assert caught.value.retry_after_s == 3.0
    assert len(fake_upstream.requests) == 1


@pytest.mark.parametrize(
    ("reply", "expected", "status", "message"),
    [
        (Reply(texts=[]), UpstreamError, 502, "upstream answered with no choices"),
        (Reply(raw=b"{not json"), UpstreamError, 502, "upstream returned invalid JSON"),
        (
            Reply(
                status=429, error="slow", headers={"retry-after": "4", "x-should-retry": "false"}
            ),
            UpstreamRateLimitError,
            429,
            "slow",
        ),
        (
            Reply(status=401, error="bad key", error_type="authentication_error", error_code="k"),
            UpstreamStatusError,
            401,
            "bad key",
        ),
    ],
)
async def test_complete_faults_keep_their_class(
    make_upstream, fake_upstream, reply, expected, status, message
):
    fake_upstream.responder = lambda path, body: reply
    with pytest.raises(expected) as caught:
        await make_upstream().complete(_request())
    assert type(caught.value) is expected
    assert (caught.value.status_code, caught.value.message) == (status, message)
    if status == 429:
        assert (caught.value.retry_after_s, caught.value.should_retry) == (4.0, False)
    if status == 401:
        assert (caught.value.error_type, caught.value.code) == ("authentication_error", "k")


async def test_complete_against_nothing_listening_is_unreachable(make_upstream):
    upstream = make_upstream(upstream_api_base=refused_base_url())
    with pytest.raises(UpstreamError) as caught:
        await upstream.complete(_request())
    assert type(caught.value) is UpstreamError
    assert caught.value.status_code == 502
    assert caught.value.message.startswith("upstream unreachable")


async def test_passthrough_retries_5xx_then_succeeds(fake_upstream):
    replies = iter([Reply(status=503), Reply(text="ok")])
    fake_upstream.responder = lambda path, body: next(replies)
    route = LiteLLMRoute("public", "openai/fake-model", fake_upstream.base_url, None)
    passthrough = LiteLLMPassthrough(Settings(upstream_retries=2, upstream_retry_backoff_s=0))
    params = {"messages": [{"role": "user", "content": "x"}]}
    answer = await passthrough.forward("chat/completions", route, params)
    await passthrough.aclose()
    assert isinstance(answer, dict)
    assert answer["choices"][0]["message"]["content"] == "ok"
    assert len(fake_upstream.requests) == 2


async def test_passthrough_retries_end_by_the_request_deadline(fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(delay_s=5)
    route = LiteLLMRoute("public", "openai/fake-model", fake_upstream.base_url, None)
    settings = Settings(upstream_retries=2, upstream_retry_backoff_s=0, request_timeout_s=0.5)
    passthrough = LiteLLMPassthrough(settings)
    params = {"messages": [{"role": "user", "content": "x"}]}
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamTimeoutError):
        await passthrough.forward("chat/completions", route, params)
    elapsed = loop.time() - started
    await passthrough.aclose()
    assert len(fake_upstream.requests) == 1  # no time was left for another attempt
    assert elapsed < 3 * 0.5  # one request timeout, not one per attempt


async def test_complete_does_not_retry_4xx(make_upstream, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(status=400, error="nope")
    upstream = make_upstream(upstream_retries=2)
    with pytest.raises(UpstreamStatusError) as caught:
        await upstream.complete(_request())
    assert caught.value.status_code == 400
    assert len(fake_upstream.requests) == 1


async def test_complete_honours_its_timeout(make_upstream, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(delay_s=2)
    upstream = make_upstream()
    with pytest.raises(UpstreamTimeoutError):
        await upstream.complete(_request(timeout_s=0.3))


async def test_complete_uses_the_mapped_litellm_model(make_upstream, fake_upstream):
    upstream = make_upstream(
        upstream_api_base=None,
        models={"public": {"model": "openai/fake-coder", "api_base": fake_upstream.base_url}},
    )
    await upstream.complete(_request(model="sstar/public"))
    assert fake_upstream.last.json["model"] == "fake-coder"


async def test_passthrough_stream_yields_clean_chunks(fake_upstream):
    route = LiteLLMRoute("public", "openai/fake-model", fake_upstream.base_url, None)
    passthrough = LiteLLMPassthrough(Settings(upstream_retries=0))
    params = {"messages": [{"role": "user", "content": "x"}], "stream": True}
    chunks = await passthrough.forward("chat/completions", route, params)
    assert not isinstance(chunks, dict)
    received = [chunk async for chunk in chunks]
    await passthrough.aclose()
    assert {c["model"] for c in received} == {"public"}
    assert all("provider_specific_fields" not in c for c in received)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in received if c["choices"])
    assert text == "Hello from the fake upstream."


async def test_top_logprobs_are_asked_for_and_returned_per_token(make_upstream, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(
        texts=["A"], alternatives=[{"A": -0.2, "B": -1.8, " A": -4.0}]
    )
    upstream = make_upstream()
    response = await upstream.complete(_request(max_tokens=1, top_logprobs=2))
    assert (fake_upstream.last.json["logprobs"], fake_upstream.last.json["top_logprobs"]) == (
        True,
        2,
    )
    assert response.choices[0].text == "A"
    assert response.choices[0].top_logprobs == ({"A": -0.2, "B": -1.8},)

    plain = await upstream.complete(_request())
    assert "logprobs" not in fake_upstream.last.json
    assert plain.choices[0].top_logprobs == ()


async def test_a_coroutine_waits_for_the_litellm_import_in_a_thread(monkeypatch) -> None:
    """While the startup thread imports litellm, a request must not stall the event loop."""
    import time as clock

    from proxy.upstream import litellm_client

    def slow_import() -> object:
        clock.sleep(0.5)  # the import lock held by another thread, as at startup
        return "litellm"

    monkeypatch.setattr(litellm_client, "_IMPORTED", threading.Event())
    monkeypatch.setattr(litellm_client, "_litellm", slow_import)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    module = await litellm_client.loaded_litellm()
    ticker.cancel()
    assert module == "litellm"
    assert ticks > 20  # the loop kept running during the half-second import
