"""``resend_of``: which request headers say "this request was sent before"."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from proxy.api.sstar import resend_of
from proxy.runs import Reuse


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, Reuse()),
        ({"x-stainless-retry-count": "0"}, Reuse()),
        ({"x-stainless-retry-count": "1"}, Reuse(retry=True)),
        ({"x-stainless-retry-count": " 2 "}, Reuse(retry=True)),
        ({"x-stainless-retry-count": "000"}, Reuse()),
        ({"x-stainless-retry-count": "-1"}, Reuse()),
        ({"x-stainless-retry-count": "one"}, Reuse()),
        ({"x-stainless-retry-count": "9" * 5000}, Reuse(retry=True)),
        ({"idempotency-key": "abc"}, Reuse(idempotency_key="abc")),
        ({"idempotency-key": "  "}, Reuse()),
        (
            {"idempotency-key": "k", "x-stainless-retry-count": "3"},
            Reuse(retry=True, idempotency_key="k"),
        ),
    ],
)
def test_resend_of_reads_the_sdk_retry_count_and_the_idempotency_key(headers, expected) -> None:
    assert resend_of(_request(headers)) == expected
