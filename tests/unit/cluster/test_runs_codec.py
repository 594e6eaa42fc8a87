"""The codec a follower replica decodes the holder's run with: a real engine result (candidates,
debug history, clusters, tournament matches, timings, usage by purpose) survives the trip equal,
and every answer rendered from it is the holder's answer byte for byte."""

from __future__ import annotations

import json

import pytest

from proxy.api.answer import CompletionIdentity, completion_body, summary_headers
from proxy.api.responses_answer import ResponseIdentity, completed_body
from proxy.cluster.codec import CodecError, decode_event, decode_result, encode
from proxy.scaling.engine import ScalingEngine
from proxy.scaling.trace import render_trace
from proxy.scaling.types import ProgressEvent
from sandbox import BubblewrapSandbox
from tests.fakes import ScriptedUpstream
from tests.integration.test_engine_selection import PARAMS, make_task, script


@pytest.mark.bwrap
async def test_a_real_engine_result_round_trips_and_renders_the_same() -> None:
    sandbox = await BubblewrapSandbox.create()
    events: list[ProgressEvent] = []
    try:
        result = await ScalingEngine(ScriptedUpstream(script), sandbox).run(
            make_task(), PARAMS, on_progress=events.append
        )
    finally:
        await sandbox.aclose()
    assert result.matches  # the run went through the tournament: every kind of field is set
    assert result.clusters
    assert result.usage_by_purpose

    decoded = decode_result(encode(result))

    assert decoded == result
    identity = CompletionIdentity(id="chatcmpl-1", created=1, model="coder")
    assert completion_body(decoded, identity) == completion_body(result, identity)
    assert summary_headers(decoded) == summary_headers(result)
    reply = ResponseIdentity.new({"model": "coder"})
    assert completed_body(decoded, reply) == completed_body(result, reply)
    trace = render_trace(decoded, task=make_task(), params=PARAMS, run_id="run_1")
    assert trace == render_trace(result, task=make_task(), params=PARAMS, run_id="run_1")
    assert [decode_event(encode(event)) for event in events] == events


def test_a_value_of_the_wrong_shape_is_refused_not_guessed() -> None:
    event = json.loads(encode(ProgressEvent("sample", "4 programs")))
    with pytest.raises(CodecError):
        decode_event(json.dumps({**event, "stage": 3}))
    with pytest.raises(CodecError):
        decode_event("not json")
    with pytest.raises(CodecError):
        decode_result(json.dumps({"program": "print(1)"}))  # the required fields are missing
