"""``header_value``: any text becomes a header value every HTTP stack accepts."""

from __future__ import annotations

import h11
import pytest
from starlette.responses import Response

from proxy.api.headers import MAX_HEADER_VALUE, header_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain reason", "plain reason"),
        ("upstream said\r\nx-injected: 1", "upstream said x-injected: 1"),
        ("bad\rthing", "bad thing"),
        ("tab\tnul\x00del\x7fend", "tab nul del end"),
        ("  padded \n", "padded"),
        ("caf\u00e9 \u4e2d\u6587", "caf? ??"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        ("", ""),
    ],
)
def test_control_and_non_ascii_characters_are_replaced(text: str, expected: str) -> None:
    assert header_value(text) == expected


def test_long_values_are_cut_and_say_so() -> None:
    cut = header_value("x" * 10_000)
    assert len(cut) == MAX_HEADER_VALUE
    assert cut.endswith("...")
    assert header_value("abcdef", limit=5) == "ab..."
    assert header_value("abcde", limit=5) == "abcde"
    assert header_value("abcdef", limit=2) == ".."


@pytest.mark.parametrize(
    "text",
    ["a\r\nb", "\x00\x01\x1f", "\u2028line\u2029sep", "\ud800", "é" * 600, "ok; x=1\r\n\r\n<html>"],
)
def test_every_result_is_a_valid_header_value_for_starlette_and_h11(text: str) -> None:
    value = header_value(text)
    # Starlette encodes header values as latin-1; h11 (uvicorn) refuses CR, LF and controls.
    Response(headers={"x-sstar-reason": value})
    h11.Response(status_code=200, headers=[("x-sstar-reason", value)])
    assert value.isascii()
    assert value.isprintable()
