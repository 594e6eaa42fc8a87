"""``n`` on upstreams that ignore it: the proxy fans out and merges (OPENAI_API.md §2)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.fake_upstream import Reply
from tests.sse import sse_payloads

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
USAGE = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}


def _one_choice_each(fail_call: int | None = None):
    """A responder that always answers with one choice, numbered by call (``answer 0``, ...)."""
    calls = itertools.count()

    def respond(path: str, body: dict[str, Any]) -> Reply:
        call = next(calls)
        if call == fail_call:
            return Reply(status=500, error="boom")
        return Reply(texts=[f"answer {call}"], usage=USAGE)

    return respond


async def test_missing_choices_are_asked_for_one_call_each_and_merged(client, fake_upstream):
    fake_upstream.responder = _one_choice_each()
    response = await client.post("/v1/chat/completions", json={**CHAT, "n": 3, "seed": 5})
    assert response.status_code == 200
    body = response.json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    texts = sorted(c["message"]["content"] for c in body["choices"])
    assert texts == ["answer 0", "answer 1", "answer 2"]
    assert body["usage"] == {"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36}
    assert response.headers["x-sstar-fanout"] == "2 call(s) added 2 choice(s)"
    sent = [(r.json["n"], r.json["seed"]) for r in fake_upstream.requests]
    assert sent[0] == (3, 5)
    assert sorted(sent[1:]) == [(1, 6), (1, 7)]  # seeds differ so the choices can


async def test_an_upstream_honouring_n_is_relayed_untouched(client, fake_upstream):
    fake_upstream.responder = lambda path, body: "same"
    response = await client.post("/v1/chat/completions", json={**CHAT, "n": 2})
    assert len(response.json()["choices"]) == 2
    assert "x-sstar-fanout" not in response.headers
    assert len(fake_upstream.requests) == 1


async def test_a_failed_extra_call_leaves_its_choice_out(client, fake_upstream):
    fake_upstream.responder = _one_choice_each(fail_call=1)
    response = await client.post("/v1/chat/completions", json={**CHAT, "n": 3})
    assert response.status_code == 200
    assert [c["index"] for c in response.json()["choices"]] == [0, 1]
    assert response.headers["x-sstar-fanout"] == "2 call(s) added 1 choice(s)"


async def test_legacy_completions_fan_out_too(client, fake_upstream):
    fake_upstream.responder = _one_choice_each()
    body = {"model": "fake-model", "prompt": "def f():", "n": 2}
    response = await client.post("/v1/completions", json=body)
    assert [c["index"] for c in response.json()["choices"]] == [0, 1]
    assert response.headers["x-sstar-fanout"] == "1 call(s) added 1 choice(s)"


async def test_a_stream_gets_its_missing_choices_appended_with_one_id_and_summed_usage(
    client, fake_upstream
):
    fake_upstream.responder = _one_choice_each()
    body = {**CHAT, "n": 3, "stream": True, "stream_options": {"include_usage": True}}
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    events = sse_payloads(response.text)
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    chunks = events[:-1]
    assert len({c["id"] for c in chunks}) == 1  # SDKs correlate chunks by id
    usage = [c for c in chunks if c["choices"] == []]
    assert len(usage) == 1
    assert chunks[-1] is usage[0]  # the usage chunk comes last
    assert usage[0]["usage"] == {"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36}
    text: dict[int, str] = {}
    for chunk in chunks[:-1]:
        for choice in chunk["choices"]:
            text[choice["index"]] = text.get(choice["index"], "") + (
                choice["delta"].get("content") or ""
            )
    assert sorted(text.values()) == ["answer 0", "answer 1", "answer 2"]
    assert [r.json["n"] for r in fake_upstream.requests] == [3, 1, 1]


async def test_a_stream_with_every_choice_is_relayed_byte_for_byte(client, fake_upstream):
    fake_upstream.responder = lambda path, body: "same"
    body = {**CHAT, "n": 2, "stream": True, "stream_options": {"include_usage": True}}
    response = await client.post("/v1/chat/completions", json=body)
    indices = {c["index"] for e in sse_payloads(response.text)[:-2] for c in e["choices"]}
    assert indices == {0, 1}
    assert len(fake_upstream.requests) == 1
    async with httpx.AsyncClient() as direct:
        upstream = await direct.post(f"{fake_upstream.base_url}/chat/completions", json=body)
    first_id = sse_payloads(response.text)[0]["id"]
    direct_id = sse_payloads(upstream.text)[0]["id"]
    assert response.text == upstream.text.replace(direct_id, first_id)


async def test_a_failed_extra_stream_leaves_its_choice_out_without_a_gap(client, fake_upstream):
    def first_extra_fails(path: str, body: dict[str, Any]) -> Reply:
        if body.get("seed") == 6:  # the first extra call (seed + 1): its choice would be index 1
            return Reply(status=500, error="boom")
        return Reply(texts=[f"seed {body['seed']}"], usage=USAGE)

    fake_upstream.responder = first_extra_fails
    body = {**CHAT, "n": 3, "stream": True, "seed": 5}
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    events = sse_payloads(response.text)
    assert events[-1] == "[DONE]"
    assert not any("error" in e for e in events[:-1])
    indices = {c["index"] for e in events[:-1] for c in e["choices"]}
    assert indices == {0, 1}
    texts = "".join(c["delta"].get("content") or "" for e in events[:-1] for c in e["choices"])
    assert "seed 7" in texts
