"""``POST /v1/responses`` through the official openai SDK, the proxy served by uvicorn on loopback.

Two proxies share the session's fake upstream: one **relays** (an OpenAI-compatible base that
serves the Responses API, as vLLM does: the upstream's bytes come back), one **translates**
(``SSTAR_UPSTREAM_RESPONSES=translate``, as for the embedded llama.cpp model: the fake answers
404 on ``/v1/responses``, so only chat completions can serve it). S* runs on a plain-text coding
task with the scripted model of ``test_sstar_sdk.py`` and the real bubblewrap sandbox, answered
as a ``response`` object and as its event stream.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.e2e.test_sstar_sdk import (
    CORRECT,
    OFF_BY_ONE,
    OFF_BY_ONE_AGAIN,
    PROBLEM,
    Script,
    fenced,
    purpose_of,
)
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.servers import serve_proxy

RAW_RESPONSE = (
    b'{ "id":"resp_upstream1",  "object":"response", "created_at":1700000000,'
    b' "status":"completed", "model":"fake-model", "vendor_extra":{"kept":true},'
    b' "output":[{"id":"msg_1","type":"message","role":"assistant","status":"completed",'
    b'"content":[{"type":"output_text","text":"relayed as sent","annotations":[]}]}],'
    b' "parallel_tool_calls":true, "tool_choice":"auto", "tools":[],'
    b' "usage":{"input_tokens":3,"output_tokens":3,"total_tokens":6}}'
)
TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "run_tests",
        "description": "Run the test suite",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
]
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "run_tests", "arguments": '{"path": "tests"}'},
}


@pytest.fixture(scope="module")
def relay_url(fake_upstream_server: FakeUpstream) -> Iterator[str]:
    server = serve_proxy(fake_upstream_server)
    yield f"{server.url}/v1"
    server.stop()


@pytest.fixture(scope="module")
def translate_url(fake_upstream_server: FakeUpstream) -> Iterator[str]:
    server = serve_proxy(
        fake_upstream_server,
        upstream_responses="translate",
        sstar_mode="off",
        sandbox_backend="local",
    )
    yield f"{server.url}/v1"
    server.stop()


@pytest.fixture
def relay(relay_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=relay_url, api_key="anything", max_retries=0, timeout=60) as client:
        yield client


@pytest.fixture
def translate(translate_url: str, fake_upstream: FakeUpstream) -> Iterator[OpenAI]:
    with OpenAI(base_url=translate_url, api_key="anything", max_retries=0, timeout=60) as client:
        yield client


def no_responses_api(path: str, body: dict[str, Any]) -> Reply | None:
    """An upstream without ``/v1/responses`` (llama.cpp): chat answers, the rest is 404."""
    if path == "responses":
        return Reply(status=404, error="Not Found")
    return None


def fresh() -> str:
    """A unique ``user``: identical requests share one S* run (and its cached result)."""
    return uuid.uuid4().hex


# --- relay: an upstream that serves the Responses API -------------------------------------------


def test_relay_returns_the_upstreams_bytes(relay, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(raw=RAW_RESPONSE)
    raw = relay.responses.with_raw_response.create(
        model="fake-model",
        input="Say something.",
        extra_body={"sstar": {"samples": 2}},
    )
    assert raw.http_response.content == RAW_RESPONSE
    assert raw.parse().output_text == "relayed as sent"
    assert raw.headers["x-sstar-applied"] == "false"
    assert fake_upstream.last.path == "/v1/responses"
    # the proxy's own field is removed; everything else reaches the upstream as sent
    assert fake_upstream.last.json == {"model": "fake-model", "input": "Say something."}


def test_relay_forwards_the_clients_bytes_untouched(relay_url, fake_upstream):
    sent = b'{"model":"fake-model",  "input":"hi", "vendor_option":{"x":1}}'
    response = httpx.post(
        f"{relay_url}/responses",
        content=sent,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200
    assert fake_upstream.last.raw == sent


def test_relay_stream_returns_the_upstreams_bytes(relay_url, fake_upstream):
    events = (
        b'event: response.created\ndata: {"type":"response.created","sequence_number":0,'
        b'"response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}}\n\n'
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
        b'"sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,'
        b'"delta":"as sent"}\n\n'
    )
    fake_upstream.responder = lambda path, body: Reply(raw=events, content_type="text/event-stream")
    body = {"model": "fake-model", "input": "Say something.", "stream": True}
    with httpx.stream("POST", f"{relay_url}/responses", json=body, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        received = b"".join(response.iter_bytes())
    assert received == events


def test_relay_stream_through_the_sdk(relay, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="streamed from the upstream")
    with relay.responses.create(model="fake-model", input="Say something.", stream=True) as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "streamed from the upstream"
    assert events[-1].response.output_text == "streamed from the upstream"
    assert fake_upstream.last.path == "/v1/responses"


def test_relay_keeps_the_upstreams_error(relay, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(
        status=429, error="slow down", headers={"retry-after": "3"}
    )
    with pytest.raises(openai.RateLimitError) as caught:
        relay.responses.create(model="fake-model", input="Say something.")
    assert caught.value.status_code == 429
    assert caught.value.body["message"] == "slow down"  # type: ignore[index]
    assert caught.value.response.headers["retry-after"] == "3"


def test_relay_stream_failing_midway_ends_with_an_error_event(relay, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="a b c d e f", fail_after_chunks=5)
    seen: list[str] = []
    stream = relay.responses.create(model="fake-model", input="Say something.", stream=True)
    with pytest.raises(openai.APIError) as caught:
        seen.extend(event.type for event in stream)
    assert seen[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert "upstream" in caught.value.message


def test_tool_requests_pass_through_to_the_upstream(relay, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(tool_calls=[TOOL_CALL])
    raw = relay.responses.with_raw_response.create(
        model="fake-model", input=PROBLEM, tools=TOOLS, user=fresh()
    )
    assert raw.headers["x-sstar-applied"] == "false"
    assert "tools" in raw.headers["x-sstar-reason"]
    (call,) = raw.parse().output
    assert call.type == "function_call"
    assert call.name == "run_tests"
    assert [r.path for r in fake_upstream.requests] == ["/v1/responses"]
    assert fake_upstream.last.json["tools"] == TOOLS


def test_mode_off_passes_a_coding_task_through(relay, fake_upstream):
    raw = relay.responses.with_raw_response.create(
        model="fake-model", input=PROBLEM, extra_headers={"x-sstar-mode": "off"}
    )
    assert raw.headers["x-sstar-applied"] == "false"
    assert "mode off" in raw.headers["x-sstar-reason"]
    assert [r.path for r in fake_upstream.requests] == ["/v1/responses"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "fake-model", "input": 5}, "input"),
        ({"model": "fake-model", "input": "hi", "stream": "yes"}, "stream"),
        ({"model": "fake-model", "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "hi"}, "model"),
    ],
)
def test_malformed_requests_are_400_naming_the_field(relay_url, fake_upstream, body, param):
    response = httpx.post(f"{relay_url}/responses", json=body, timeout=30)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fake_upstream.requests == []


@pytest.mark.parametrize(
    ("headers", "extra", "param"),
    [
        ({"x-sstar-samples": "99"}, {}, "x-sstar-samples"),
        ({}, {"sstar": {"selection": "best"}}, "sstar.selection"),
        ({"x-sstar-mode": "force"}, {"top_logprobs": 2}, "top_logprobs"),
    ],
)
def test_bad_controls_are_400_naming_the_parameter(relay, fake_upstream, headers, extra, param):
    with pytest.raises(openai.BadRequestError) as caught:
        relay.responses.create(
            model="fake-model", input=PROBLEM, extra_headers=headers, extra_body=extra
        )
    assert caught.value.body["param"] == param  # type: ignore[index]
    assert fake_upstream.requests == []


# --- translate: an upstream without the Responses API ------------------------------------------


def test_translated_to_a_chat_completion(translate, fake_upstream):
    fake_upstream.responder = no_responses_api
    raw = translate.responses.with_raw_response.create(
        model="fake-model", input="Say hi.", instructions="Be brief.", max_output_tokens=50
    )
    response = raw.parse()
    assert raw.headers["x-sstar-applied"] == "false"
    assert response.output_text == "Hello from the fake upstream."
    assert response.status == "completed"
    assert response.usage is not None
    assert response.usage.output_tokens == 5
    assert response.usage.total_tokens == response.usage.input_tokens + 5
    (call,) = fake_upstream.requests
    assert call.path == "/v1/chat/completions"
    assert call.json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi."},
    ]
    assert call.json["max_tokens"] == 50


def test_translated_stream(translate, fake_upstream):
    fake_upstream.responder = no_responses_api
    with translate.responses.create(model="fake-model", input="Say hi.", stream=True) as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert "response.output_text.done" in kinds
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Hello from the fake upstream."
    numbers = [event.sequence_number for event in events]
    assert numbers == sorted(numbers)
    final = events[-1].response
    assert final.output_text == "Hello from the fake upstream."
    assert final.usage is not None
    assert final.usage.output_tokens == 5
    assert [r.path for r in fake_upstream.requests] == ["/v1/chat/completions"]
    assert fake_upstream.last.json["stream"] is True


def test_translated_tool_call(translate, fake_upstream):
    fake_upstream.responder = lambda path, body: (
        Reply(status=404) if path == "responses" else Reply(tool_calls=[TOOL_CALL])
    )
    response = translate.responses.create(model="fake-model", input="Run the tests.", tools=TOOLS)
    (call,) = response.output
    assert call.type == "function_call"
    assert call.name == "run_tests"
    assert json.loads(call.arguments) == {"path": "tests"}
    (chat_tool,) = fake_upstream.last.json["tools"]
    assert chat_tool["function"]["name"] == "run_tests"


def test_translated_stream_failing_midway_raises_in_the_sdk(translate, fake_upstream):
    fake_upstream.responder = lambda path, body: (
        Reply(status=404) if path == "responses" else Reply(text="a b c d", fail_after_chunks=2)
    )
    stream = translate.responses.create(model="fake-model", input="Say hi.", stream=True)
    with pytest.raises(openai.APIError):
        list(stream)


def test_translated_upstream_error_keeps_its_status(translate, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(status=401, error="bad upstream key")
    with pytest.raises(openai.AuthenticationError) as caught:
        translate.responses.create(model="fake-model", input="Say hi.")
    assert "bad upstream key" in caught.value.message


def test_translated_previous_response_id_is_a_400(translate, fake_upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        translate.responses.create(
            model="fake-model", input="And then?", previous_response_id="resp_earlier"
        )
    assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]
    assert fake_upstream.requests == []


# --- S* on a plain-text coding task -----------------------------------------------------------


@pytest.mark.bwrap
def test_sstar_answers_a_coding_task_with_the_selected_program(relay, relay_url, fake_upstream):
    # The greedy sample and the larger behaviour cluster are off by one; only S* finds CORRECT.
    script = Script(samples=(OFF_BY_ONE, OFF_BY_ONE_AGAIN, CORRECT))
    fake_upstream.responder = script
    raw = relay.responses.with_raw_response.create(
        model="fake-model",
        instructions="You are a careful competitive programmer.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": PROBLEM}]}],
        user=fresh(),
    )
    response = raw.parse()
    assert raw.headers["x-sstar-applied"] == "true"
    assert "stdin" in raw.headers["x-sstar-reason"]
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == fenced(CORRECT)
    assert response.instructions == "You are a careful competitive programmer."
    # usage sums every upstream call of the run; none of them was a Responses call
    calls = len(fake_upstream.requests)
    assert {r.path for r in fake_upstream.requests} == {"/v1/chat/completions"}
    assert response.usage is not None
    assert response.usage.input_tokens == 11 * calls
    assert response.usage.output_tokens == 7 * calls
    assert response.usage.total_tokens == 18 * calls
    summary = dict(part.split("=") for part in raw.headers["x-sstar-summary"].split("; "))
    assert summary["samples"] == "3"
    assert summary["calls"] == str(calls)
    # the instructions are the system message of every sample
    samples = [
        r.json for r in fake_upstream.requests if purpose_of(last_user_text(r.json)) == "sample"
    ]
    assert len(samples) >= 2  # the greedy call and the sampled one(s)
    for sample in samples:
        assert sample["messages"][0] == {
            "role": "system",
            "content": "You are a careful competitive programmer.",
        }
    trace = httpx.get(f"{relay_url}/sstar/runs/{raw.headers['x-sstar-run-id']}").json()
    programs = {c["index"]: c["revisions"][0]["program"].strip() for c in trace["candidates"]}
    assert programs[trace["selected"]] == CORRECT.strip()
    assert script.calls["judge"] == 2


@pytest.mark.bwrap
def test_sstar_stream_with_progress(relay, fake_upstream):
    fake_upstream.responder = Script()
    with relay.responses.create(
        model="fake-model",
        input=PROBLEM,
        stream=True,
        user=fresh(),
        extra_headers={"x-sstar-progress": "true"},
    ) as stream:
        assert stream.response.headers["x-sstar-applied"] == "true"
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    # progress is reasoning summary text in its own item, never the answer
    progress = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert "[sample] started" in progress
    assert "[select] started" in progress
    assert "```" not in progress
    final = events[-1].response
    reasoning, message = final.output
    assert reasoning.type == "reasoning"
    assert message.type == "message"
    answer = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert answer == final.output_text == fenced(CORRECT)
    assert final.usage is not None
    calls = len(fake_upstream.requests)
    assert final.usage.total_tokens == 18 * calls
    assert {r.path for r in fake_upstream.requests} == {"/v1/chat/completions"}


@pytest.fixture
def broken_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """bubblewrap cannot run: S* must fall back to pass-through, or fail closed when forced."""
    from sandbox import BubblewrapSandbox, SandboxUnavailableError

    async def refuse(cls: type, /, **kwargs: object) -> BubblewrapSandbox:
        raise SandboxUnavailableError("bubblewrap missing (simulated)")

    monkeypatch.setattr(BubblewrapSandbox, "create", classmethod(refuse))


def test_unavailable_sandbox_falls_back_or_fails_closed(broken_sandbox, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="plain answer")
    server = serve_proxy(fake_upstream)
    try:
        with OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0) as client:
            raw = client.responses.with_raw_response.create(
                model="fake-model", input=PROBLEM, user=fresh()
            )
            assert raw.headers["x-sstar-applied"] == "false"
            assert "sandbox unavailable" in raw.headers["x-sstar-reason"]
            assert raw.parse().output_text == "plain answer"
            with pytest.raises(openai.InternalServerError) as caught:
                client.responses.create(
                    model="fake-model",
                    input=PROBLEM,
                    user=fresh(),
                    extra_headers={"x-sstar-mode": "force"},
                )
            assert caught.value.status_code == 503
            assert caught.value.response.headers["x-should-retry"] == "false"
    finally:
        server.stop()
