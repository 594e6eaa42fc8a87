"""The trace routes' small parts: content negotiation, reading a link, writing its URL."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from proxy.api.trace_links import link_in, trace_url, trace_url_header
from proxy.api.traces import wants_html
from proxy.errors import InvalidRequestError
from proxy.runs import Grant, LinkVerdict, SignedLink, TraceLinks

NOW = 1_800_000_000.0


def request(query: str = "", host: str = "proxy.test:8000", root_path: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/sstar/runs/run_a",
        "root_path": root_path,
        "query_string": query.encode(),
        "headers": [(b"host", host.encode())],
        "server": ("proxy.test", 8000),
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Chromium
        ("text/html", True),
        ("text/html, application/json", True),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=oops", False),
        ("*/*", False),  # httpx, curl
        ("application/json", False),  # the openai SDK
        ("", False),
        (None, False),
    ],
)
def test_html_only_for_clients_that_ask_for_it(accept: str | None, html: bool) -> None:
    assert wants_html(accept) is html


def test_a_request_without_link_parameters_carries_no_link() -> None:
    assert link_in(request()) is None
    assert link_in(request("run=run_a")) is None


def test_a_link_is_read_from_the_query() -> None:
    assert link_in(request("expires=123&sig=abc")) == SignedLink(123, "abc")


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("expires=123", "sig"),
        ("sig=abc", "expires"),
        ("expires=-5&sig=abc", "expires"),
        ("expires=1e9&sig=abc", "expires"),
        ("expires=99999999999999999999&sig=abc", "expires"),
    ],
)
def test_a_half_or_malformed_link_is_a_400_naming_the_parameter(query: str, param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        link_in(request(query))
    assert info.value.param == param


def test_urls_are_absolute_from_the_requests_base_and_verify() -> None:
    links = TraceLinks(b"k" * 32, ttl_s=60)
    run_url = trace_url(request(root_path="/proxy"), links, Grant.RUN, "run_a", now=NOW)
    assert run_url is not None
    assert run_url.startswith("http://proxy.test:8000/proxy/v1/sstar/runs/run_a?expires=")
    parsed = link_in(request(run_url.split("?", 1)[1]))
    assert parsed is not None
    assert links.verify(Grant.RUN, "run_a", parsed, now=NOW) is LinkVerdict.VALID
    runs_url = trace_url(request(), links, Grant.RUNS, "run_a", now=NOW, expires=int(NOW) + 5)
    assert runs_url is not None
    assert runs_url.startswith("http://proxy.test:8000/v1/sstar/runs?run=run_a&expires=")
    assert f"expires={int(NOW) + 5}&" in runs_url


def test_no_url_when_links_are_off_and_no_header_rather_than_a_cut_one() -> None:
    off = TraceLinks(b"k" * 32, ttl_s=0)
    assert trace_url(request(), off, Grant.RUN, "run_a", now=NOW) is None
    assert trace_url_header(request(), off, "run_a", now=NOW) is None
    on = TraceLinks(b"k" * 32, ttl_s=60)
    assert trace_url_header(request(), on, "run_a", now=NOW) is not None
    assert trace_url_header(request(host="h" * 600), on, "run_a", now=NOW) is None
