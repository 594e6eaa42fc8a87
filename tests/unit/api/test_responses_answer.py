"""S* results as the Responses API renders them, checked against the official SDK's own types."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from proxy.api.responses_answer import ResponseIdentity, completed_body, stream_response
from proxy.errors import UpstreamRateLimitError
from proxy.runs import RunCoordinator
from proxy.scaling.types import ProgressCallback, ProgressEvent, ScalingResult
from proxy.upstream.base import Usage

EVENTS: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
REQUEST = {
    "model": "sstar/coder",
    "input": "task",
    "instructions": "Be careful.",
    "max_output_tokens": 900,
    "temperature": 0.3,
    "user": "u1",
}


def _result(message: str = "```python\nprint(1)\n```") -> ScalingResult:
    return ScalingResult(
        program="print(1)",
        message=message,
        usage=Usage(30, 12),
        upstream_calls=3,
        executions=5,
        selection="adaptive",
        selected=0,
        candidates=(),
    )


def test_completed_body_is_a_response_the_sdk_validates():
    identity = ResponseIdentity.new(REQUEST)
    body = completed_body(_result(), identity)
    response = Response.model_validate(body)
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.model == "sstar/coder"
    assert response.output_text == "```python\nprint(1)\n```"
    assert response.instructions == "Be careful."
    assert response.max_output_tokens == 900
    assert response.temperature == 0.3
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (30, 12)
    assert response.usage.total_tokens == 42
    assert body["store"] is False


def test_ids_are_fresh_per_answer():
    first, second = ResponseIdentity.new(REQUEST), ResponseIdentity.new(REQUEST)
    assert first.id != second.id
    assert first.message_id != second.message_id


def _parse(stream: list[bytes]) -> list[Any]:
    """SSE bytes -> the SDK's typed events; checks each event's name matches its type."""
    events = []
    for chunk in stream:
        if chunk.startswith(b":"):
            continue
        name, data = chunk.decode().strip().split("\n")
        payload = json.loads(data.removeprefix("data: "))
        assert name == f"event: {payload['type']}"
        events.append(EVENTS.validate_python(payload))
    return events


async def _stream(run: Any, *, progress: bool, keepalive_s: float = 5.0) -> list[bytes]:
    coordinator = RunCoordinator(max_active=1)
    subscription = coordinator.subscribe("key", "run_1", run)
    identity = ResponseIdentity.new(REQUEST)
    chunks = [
        c
        async for c in stream_response(
            subscription, identity, progress=progress, keepalive_s=keepalive_s
        )
    ]
    await coordinator.aclose()
    return chunks


async def test_stream_events_in_openais_order():
    async def run(publish: ProgressCallback) -> ScalingResult:
        return _result("x" * 1100)  # three deltas of at most 512 characters

    events = _parse(await _stream(run, progress=False))
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "x" * 1100
    assert events[0].response.status == "in_progress"
    final = events[-1].response
    assert final.output_text == "x" * 1100
    assert final.usage.total_tokens == 42
    assert final.id == events[0].response.id
    assert {e.item_id for e in events if hasattr(e, "item_id")} == {final.output[0].id}


async def test_progress_is_a_reasoning_item_before_the_message():
    async def run(publish: ProgressCallback) -> ScalingResult:
        publish(ProgressEvent("sample", "started"))
        await asyncio.sleep(0.05)
        publish(ProgressEvent("select", "done"))
        return _result()

    events = _parse(await _stream(run, progress=True))
    kinds = [e.type for e in events]
    assert kinds[2:4] == ["response.output_item.added", "response.reasoning_summary_part.added"]
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == "[sample] started\n[select] done\n"
    final = events[-1].response
    reasoning, message = final.output
    assert reasoning.type == "reasoning"
    assert reasoning.summary[0].text == summary
    assert message.type == "message"
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [e.output_index for e in added] == [0, 1]
    assert kinds.index("response.output_item.done") < kinds.index("response.output_text.delta")


async def test_without_progress_asked_no_reasoning_and_keepalives_while_waiting():
    async def run(publish: ProgressCallback) -> ScalingResult:
        publish(ProgressEvent("sample", "started"))
        await asyncio.sleep(0.3)
        return _result()

    chunks = await _stream(run, progress=False, keepalive_s=0.05)
    assert b": keep-alive\n\n" in chunks
    events = _parse(chunks)
    assert all("reasoning" not in e.type for e in events)
    assert [item.type for item in events[-1].response.output] == ["message"]


async def test_a_failed_run_ends_with_error_and_response_failed():
    async def run(publish: ProgressCallback) -> ScalingResult:
        raise UpstreamRateLimitError("slow down")

    chunks = await _stream(run, progress=False)
    error = json.loads(chunks[-2].decode().split("data: ", 1)[1])
    assert error["type"] == "error"
    assert error["message"] == "slow down"
    assert error["error"]["type"] == "rate_limit_error"  # the envelope the SDK raises with
    events = _parse([chunks[0], chunks[1], chunks[-1]])
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.error.code == "rate_limit_exceeded"
    assert failed.sequence_number == error["sequence_number"] + 1


async def test_an_unexpected_failure_hides_its_details():
    async def run(publish: ProgressCallback) -> ScalingResult:
        raise RuntimeError("internal detail")

    chunks = await _stream(run, progress=False)
    assert b"internal detail" not in b"".join(chunks)
    assert b'"code":"server_error"' in chunks[-1]
