"""Who the client is: the key it presented and whether it connects from loopback."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from proxy.api.access import is_loopback, presented_key


def request(
    client: tuple[str, int] | None = ("127.0.0.1", 1), headers: dict[str, str] | None = None
) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": client,
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("client", "local"),
    [
        (("127.0.0.1", 1), True),
        (("127.8.9.10", 1), True),
        (("::1", 1), True),
        (("::ffff:127.0.0.1", 1), True),
        (("10.0.0.1", 1), False),
        (("203.0.113.7", 1), False),
        (("::ffff:10.0.0.1", 1), False),
        (("testclient", 1), False),
        (None, False),
    ],
)
def test_loopback_is_127_0_0_0_8_or_ipv6_localhost(client, local) -> None:
    assert is_loopback(request(client)) is local


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"authorization": "Bearer k1"}, b"k1"),
        ({"authorization": "bearer  k1 "}, b"k1"),
        ({"authorization": "Basic k1"}, None),
        ({"api-key": "k2"}, b"k2"),
        ({"x-api-key": "k3"}, b"k3"),
        ({}, None),
    ],
)
def test_the_presented_key_in_each_spelling(headers, key) -> None:
    assert presented_key(request(headers=headers)) == key
