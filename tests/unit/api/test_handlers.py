"""The one error renderer and validation-error naming."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from proxy.api.handlers import error_response, format_loc, validation_error
from proxy.api.protocol import ChatCompletionRequest
from proxy.errors import (
    CapacityError,
    InvalidRequestError,
    SandboxUnavailableError,
    UpstreamRateLimitError,
    UpstreamStatusError,
)


def _errors(data: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        ChatCompletionRequest.model_validate(data)
    return caught.value.errors()


def test_error_response_renders_the_envelope():
    response = error_response(InvalidRequestError("bad n", param="n", code="invalid_value"))
    assert response.status_code == 400
    assert json.loads(bytes(response.body)) == {
        "error": {
            "message": "bad n",
            "type": "invalid_request_error",
            "param": "n",
            "code": "invalid_value",
        }
    }
    assert response.headers["x-should-retry"] == "false"


def test_retry_hints():
    busy = error_response(CapacityError("busy", retry_after_s=1.2))
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "2"
    assert "x-should-retry" not in busy.headers
    assert error_response(SandboxUnavailableError("no")).headers["x-should-retry"] == "false"
    assert error_response(UpstreamStatusError("x", status_code=418)).status_code == 418


def test_relayed_upstream_verdicts():
    limited = UpstreamRateLimitError("slow", retry_after_s=0)
    limited.should_retry = True
    response = error_response(limited)
    assert response.headers["retry-after"] == "1"  # never 0: the client would come straight back
    assert response.headers["x-should-retry"] == "true"
    spent = UpstreamRateLimitError("slow", retry_after_s=0.2)
    spent.should_retry = False
    assert error_response(spent).headers["x-should-retry"] == "false"
    assert error_response(spent).headers["retry-after"] == "1"


@pytest.mark.parametrize(
    ("seconds", "header"),
    [(float("inf"), None), (float("nan"), None), (1e300, "86400"), (-3.0, "1"), (0.2, "1")],
)
def test_an_upstream_retry_after_of_any_size_renders(seconds, header):
    response = error_response(CapacityError("busy", retry_after_s=seconds))
    assert response.headers.get("retry-after") == header


@pytest.mark.parametrize(
    ("loc", "param"),
    [(("messages", 0, "role"), "messages[0].role"), (("n",), "n"), ((), None), ((0,), "[0]")],
)
def test_format_loc(loc, param):
    assert format_loc(loc) == param


@pytest.mark.parametrize(
    ("data", "param", "starts"),
    [
        ({"messages": [{"role": "user"}]}, "model", "Missing required parameter"),
        (
            {"model": "m", "messages": [{"role": "user", "content": 3}]},
            "messages[0].content",
            "Invalid value",
        ),
        ({"model": "m", "messages": [{"role": "user"}], "stop": 5}, "stop", "Invalid value"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role", "Missing"),
        # Two wrong siblings: each keeps its name (once reported as 'None' / 'messages[0]').
        ({"model": True}, "model", "Invalid value"),
        ({"messages": [{"role": True, "content": {}}]}, "model", "Missing"),
        ({"model": "m", "messages": [{"role": True, "content": {}}]}, "messages[0].role", "Inv"),
        ({"model": "m", "messages": [{"role": "u", "content": [3]}]}, "messages[0].content", "Inv"),
        ({"model": "m", "messages": [{"role": "u"}], "stream_options": 1}, "stream_options", "Inv"),
    ],
)
def test_validation_error_names_the_parameter(data, param, starts):
    error = validation_error(_errors(data))
    assert error.param == param
    assert error.message.startswith(starts)
    assert error.status_code == 400


def test_validation_error_for_invalid_json():
    error = validation_error([{"type": "json_invalid", "loc": ("body", 3), "msg": "x"}])
    assert "parse the JSON" in error.message
    assert validation_error([]).status_code == 400


def test_an_error_quoting_invalid_unicode_still_renders():
    # An upstream's message is anyone's text: a lone surrogate is sent escaped, not a crash.
    response = error_response(UpstreamStatusError("bad \ud800 text", status_code=400))
    assert b"bad \\ud800 text" in bytes(response.body)
    assert json.loads(bytes(response.body))["error"]["message"] == "bad \ud800 text"
    plain = error_response(InvalidRequestError("caf\u00e9"))
    assert "caf\u00e9".encode() in bytes(plain.body)  # UTF-8 as before when it can be
