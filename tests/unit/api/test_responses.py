"""Which upstreams get ``/v1/responses`` relayed, and which are translated."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.api.responses import refuse_stored_context, relays_responses
from proxy.errors import InvalidRequestError
from proxy.settings import Settings

BASE = "http://upstream:8000/v1"


@pytest.mark.parametrize(
    ("settings", "relayed"),
    [
        ({}, True),  # an OpenAI-compatible base (vLLM, OpenAI) serves it
        ({"upstream_kind": "vllm"}, True),
        ({"upstream_kind": "hosted"}, True),
        ({"upstream_kind": "embedded", "upstream_is_llama_cpp": True}, False),
        ({"upstream_is_llama_cpp": True}, False),
        ({"upstream_kind": "llama_cpp"}, False),
        ({"upstream_responses": "translate"}, False),
        ({"upstream_responses": "relay", "upstream_is_llama_cpp": True}, True),
    ],
)
def test_relay_or_translate(settings: dict[str, Any], relayed: bool):
    assert relays_responses(Settings(upstream_api_base=BASE, **settings)) is relayed


def test_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SSTAR_UPSTREAM_RESPONSES", "translate")
    assert Settings.load().upstream_responses == "translate"
    monkeypatch.setenv("SSTAR_UPSTREAM_RESPONSES", "sometimes")
    with pytest.raises(ValueError, match="upstream_responses"):
        Settings.load()


@pytest.mark.parametrize(
    ("field", "value"),
    [("previous_response_id", "resp_1"), ("conversation", {"id": "conv_1"}), ("background", True)],
)
def test_translation_refuses_what_needs_a_stored_response(field: str, value: Any):
    with pytest.raises(InvalidRequestError) as caught:
        refuse_stored_context({"model": "m", "input": "hi", field: value})
    assert caught.value.param == field
    assert caught.value.status_code == 400


def test_translation_accepts_a_whole_conversation():
    refuse_stored_context({"model": "m", "input": [], "background": False, "store": True})
