"""``parse_json_object``: hostile JSON is a 400 that says what is wrong, never a crash."""

from __future__ import annotations

import json

import pytest

from proxy.api.jsonbody import MAX_DEPTH, parse_json_object
from proxy.errors import InvalidRequestError


def refused(raw: bytes) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_json_object(raw)
    assert caught.value.status_code == 400
    return caught.value


def test_a_normal_body_is_parsed() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi \U0001f600 \u00e9"}]}
    assert parse_json_object(json.dumps(body).encode()) == body
    # An escaped surrogate *pair* is one valid character.
    assert parse_json_object(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    raw = b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    assert "nested too deeply" in refused(raw).message


def test_nesting_up_to_the_limit_is_accepted() -> None:
    raw = b'{"a": ' + b'{"b": ' * (MAX_DEPTH - 2) + b"[]" + b"}" * (MAX_DEPTH - 2) + b"}"
    assert parse_json_object(raw)["a"]["b"]


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'{"messages": [{"role": "user", "content": "a\\ud800b"}]}', "messages[0].content"),
        (b'{"messages": [{"content": [{"text": "\\udfff"}]}]}', "messages[0].content[0].text"),
        (b'{"stop": ["ok", "\\ud800"]}', "stop[1]"),
        (b'{"\\ud800": 1}', "\ufffd"),
        (b'{"logit_bias": {"x\\ud800": 1}}', "logit_bias.x\ufffd"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_parameter(raw: bytes, param: str) -> None:
    error = refused(raw)
    assert error.param == param
    assert "surrogate" in error.message
    error.message.encode("utf-8")  # the error itself is valid Unicode


@pytest.mark.parametrize(
    "raw",
    [b'{"temperature": NaN}', b'{"a": Infinity}', b'{"a": [-Infinity]}', b'{"top_p": 1e999}'],
)
def test_non_finite_numbers_are_refused(raw: bytes) -> None:
    assert "must be finite" in refused(raw).message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "could not parse"),
        (b"{", "could not parse"),
        (b"\xff\xfe{}", "could not parse"),
        (b'{"a": ' + b"1" * 5000 + b"}", "could not parse"),
        (b"[]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
    ],
)
def test_unparsable_and_non_object_bodies_are_refused(raw: bytes, words: str) -> None:
    assert words in refused(raw).message
