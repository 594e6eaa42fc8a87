"""The chat view of a Responses request: what maps onto chat, and what blocks S*."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.api.responses_view import chat_view
from proxy.detection import detect, view_from_body

TASK = "Write a Python function add(a, b) that returns a + b.\n>>> add(1, 2)\n3"


def test_input_string_and_instructions_become_system_and_user_messages():
    view = chat_view(
        {
            "model": "m",
            "instructions": "Be careful.",
            "input": TASK,
            "max_output_tokens": 500,
            "temperature": 0.2,
            "top_p": 0.9,
            "user": "u1",
            "store": False,
            "metadata": {"k": "v"},
        }
    )
    assert view.blocker is None
    assert view.body == {
        "model": "m",
        "temperature": 0.2,
        "top_p": 0.9,
        "user": "u1",
        "messages": [
            {"role": "system", "content": "Be careful."},
            {"role": "user", "content": TASK},
        ],
        "max_completion_tokens": 500,
    }


def test_message_items_keep_roles_and_join_text_parts():
    view = chat_view(
        {
            "model": "m",
            "input": [
                {"role": "developer", "content": "Answer in Python."},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "first"},
                        {"type": "input_text", "text": "second"},
                    ],
                },
                {"role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                {"role": "user", "content": TASK},
            ],
        }
    )
    assert view.blocker is None
    assert view.body["messages"] == [
        {"role": "developer", "content": "Answer in Python."},
        {"role": "user", "content": "first\nsecond"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": TASK},
    ]


def test_a_plain_coding_task_is_detected_as_for_chat():
    view = chat_view({"model": "m", "input": TASK})
    decision = detect(view_from_body(view.body))
    assert decision.apply
    assert decision.rule == "coding_task"


def test_a_tiny_output_cap_reaches_the_detector():
    view = chat_view({"model": "m", "input": TASK, "max_output_tokens": 16})
    assert detect(view_from_body(view.body)).rule == "tiny_output_budget"


@pytest.mark.parametrize(
    "extra", [{"top_logprobs": 3}, {"include": ["message.output_text.logprobs"]}]
)
def test_asking_for_logprobs_is_logprobs(extra: dict[str, Any]):
    view = chat_view({"model": "m", "input": TASK, **extra})
    assert view.body["logprobs"] is True
    assert detect(view_from_body(view.body)).rule == "logprobs"


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"tools": [{"type": "function", "name": "f"}]}, "tools_present"),
        ({"tools": [{"type": "web_search"}]}, "tools_present"),
        ({"tool_choice": "required"}, "tools_present"),
        ({"previous_response_id": "resp_1"}, "stored_context"),
        ({"conversation": "conv_1"}, "stored_context"),
        ({"prompt": {"id": "pmpt_1"}}, "stored_context"),
        ({"text": {"format": {"type": "json_schema", "name": "x", "schema": {}}}}, "json_mode"),
        ({"text": {"format": {"type": "json_object"}}}, "json_mode"),
        ({"background": True}, "background_response"),
        ({"instructions": [{"role": "system", "content": "x"}]}, "unsupported_message"),
    ],
)
def test_request_fields_that_block_sstar(extra: dict[str, Any], rule: str):
    view = chat_view({"model": "m", "input": TASK, **extra})
    assert view.blocker is not None
    assert view.blocker[0] == rule


def test_fields_that_do_not_block():
    view = chat_view(
        {
            "model": "m",
            "input": TASK,
            "tool_choice": "auto",
            "tools": [],
            "text": {"format": {"type": "text"}, "verbosity": "low"},
            "background": False,
            "reasoning": {"effort": "low"},
        }
    )
    assert view.blocker is None


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            "tools_present",
        ),
        ({"type": "function_call_output", "call_id": "c", "output": "1"}, "tools_present"),
        ({"type": "computer_call_output", "call_id": "c"}, "tools_present"),
        ({"type": "reasoning", "summary": []}, "unsupported_message"),
        ({"type": "item_reference", "id": "msg_1"}, "unsupported_message"),
        ({"role": "tool", "content": "x"}, "unsupported_message"),
        (
            {"role": "user", "content": [{"type": "input_image", "image_url": "x"}]},
            "non_text_content",
        ),
        ({"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}, "non_text_content"),
        ({"role": "user", "content": [{"type": "input_text"}]}, "unsupported_message"),
        ({"role": "user", "content": 5}, "unsupported_message"),
        ("just a string", "unsupported_message"),
    ],
)
def test_input_items_that_block_sstar(item: Any, rule: str):
    view = chat_view({"model": "m", "input": [{"role": "user", "content": TASK}, item]})
    assert view.blocker is not None
    assert view.blocker[0] == rule


def test_no_input_is_no_user_message_for_the_detector():
    view = chat_view({"model": "m"})
    assert view.blocker is None
    assert detect(view_from_body(view.body)).rule == "no_user_message"
