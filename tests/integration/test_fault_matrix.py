"""Every upstream fault on every route: the right status, body, headers, call count and time.

The proxy is a real uvicorn server (so headers pass a real HTTP stack) with small settings: a
request timeout ``T`` of 1.5 s, 2 retries without back-off, N = 4 samples. Each fault is served
to every call of the request: by the fake upstream (``Reply``), by a server resetting its
connections (``tests/raw_upstream.py``), or by a port nobody listens on. The routes are
pass-through JSON and stream (``x-sstar-mode: off``) and forced S* JSON and stream.

What every row checks, besides status, error type and message:

- relayed headers: a 429 carries ``Retry-After`` (whole seconds >= 1) and every retryable fault
  ``x-should-retry``: ``false`` once the proxy spent its retries on it, ``true`` when it gave
  up early (an S* run stops at the first 429; a hung upstream leaves no time to retry);
- the invariant on upstream calls: at most (calls of the same request when healthy) x
  (1 + retries), and at most N + retries when the upstream refuses (429, 401);
- elapsed time: a pass-through request ends by ``T``, an S* run by ``T`` plus its answer grace
  (``proxy.api.sstar.ANSWER_GRACE_S``), each plus scheduling slack on a shared machine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from proxy.api.sstar import ANSWER_GRACE_S
from proxy.app import create_app
from proxy.settings import Settings
from proxy.upstream.litellm_client import warm_up
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.raw_upstream import Fault, ResettingUpstream, refused_base_url
from tests.servers import ServerThread
from tests.sse import sse_payloads
from tests.sum_task import PROGRAM, TASK

pytestmark = pytest.mark.bwrap

T = 1.5
RETRIES = 2
N = 4
SLACK_S = 1.5
"""Scheduling slack on a busy 2-core machine; the faults this suite guards against (attempts
times the timeout, S* ignoring it) overshoot by whole timeouts."""

CRLF_MESSAGE = "boom\r\nx-injected: yes"

FAKE_FAULTS: dict[str, Reply] = {
    "hang": Reply(delay_s=30),
    "rate_limit": Reply(
        status=429, error="slow down", error_type="rate_limit_error", headers={"retry-after": "0"}
    ),
    "server_error": Reply(status=500, error="boom", error_type="server_error"),
    "unauthorized": Reply(status=401, error="bad upstream key", error_type="authentication_error"),
    "invalid_json": Reply(raw=b'{"id": "chatcmpl-x", "choices": ['),
    "empty_choices": Reply(texts=[]),
    "crlf_message": Reply(status=500, error=CRLF_MESSAGE, error_type="server_error"),
}
RESETS = ("reset_before_first_byte", "reset_after_first_byte")
FAULTS = (*FAKE_FAULTS, *RESETS, "refused")
ROUTES = ("passthrough_json", "passthrough_stream", "sstar_json", "sstar_stream")
REFUSALS = ("rate_limit", "unauthorized")


@dataclass(frozen=True)
class Expected:
    """What the client must see: an error (status, type, message, headers) or a 200."""

    status: int
    error_type: str | None = None
    message: str | None = None  # exact, or a prefix when it ends with "..."
    retry_after: str | None = None  # None: header absent
    should_retry: str | None = None  # None: header absent


def _passthrough_expected(fault: str, *, stream: bool) -> Expected:
    spent = {"should_retry": "false"}
    table = {
        "hang": Expected(
            504,
            "timeout",
            f"upstream did not answer within the request timeout ({T:g} s)",
            should_retry="true",
        ),
        "rate_limit": Expected(429, "rate_limit_error", "slow down", "1", "false"),
        "server_error": Expected(500, "server_error", "boom", **spent),
        "unauthorized": Expected(401, "authentication_error", "bad upstream key"),
        "invalid_json": Expected(502, "upstream_error", "upstream returned invalid JSON", **spent),
        "empty_choices": Expected(200),
        "crlf_message": Expected(500, "server_error", CRLF_MESSAGE, **spent),
        "reset_before_first_byte": Expected(
            502, "upstream_error", "upstream connection failed...", **spent
        ),
        "reset_after_first_byte": (
            Expected(200, "upstream_error", "upstream connection failed...")
            if stream
            else Expected(502, "upstream_error", "upstream connection failed...", **spent)
        ),
        "refused": Expected(502, "upstream_error", "upstream unreachable (ConnectError)", **spent),
    }
    return table[fault]


def _sstar_expected(fault: str) -> Expected:
    spent = {"should_retry": "false"}
    unreachable = "upstream unreachable: Connection error."
    table = {
        "hang": Expected(504, "timeout", "S* produced no candidate: ...", **spent),
        "rate_limit": Expected(429, "rate_limit_error", "slow down", "1", "true"),
        "server_error": Expected(500, "server_error", "boom", **spent),
        "unauthorized": Expected(401, "authentication_error", "bad upstream key"),
        "invalid_json": Expected(502, "upstream_error", "upstream returned invalid JSON", **spent),
        "empty_choices": Expected(
            502, "upstream_error", "upstream answered with no choices", **spent
        ),
        "crlf_message": Expected(500, "server_error", CRLF_MESSAGE, **spent),
        "reset_before_first_byte": Expected(502, "upstream_error", unreachable, **spent),
        "reset_after_first_byte": Expected(502, "upstream_error", unreachable, **spent),
        "refused": Expected(502, "upstream_error", unreachable, **spent),
    }
    return table[fault]


def _settings(base_url: str) -> Settings:
    return Settings(
        upstream_api_base=base_url,
        upstream_retries=RETRIES,
        upstream_retry_backoff_s=0,
        request_timeout_s=T,
        num_samples=N,
        debug_rounds=1,
        deadline_s=30,  # capped by the request timeout
        log_format="console",
        log_level="warning",
    )


@contextmanager
def _proxy(base_url: str) -> Iterator[str]:
    server = ServerThread(create_app(_settings(base_url))).start()
    try:
        yield server.url
    finally:
        server.stop()


def _body(route: str) -> dict[str, Any]:
    return {
        "model": "fake-model",
        "messages": [{"role": "user", "content": TASK}],
        "stream": route.endswith("stream"),
        "user": uuid.uuid4().hex,  # no run is shared between requests
    }


def _post(url: str, route: str) -> tuple[httpx.Response, float]:
    mode = "force" if route.startswith("sstar") else "off"
    started = time.monotonic()
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json=_body(route),
        headers={"x-sstar-mode": mode},
        timeout=60,
    )
    return response, time.monotonic() - started


@contextmanager
def _upstream(fault: str, fake: FakeUpstream) -> Iterator[tuple[str, Callable[[], int]]]:
    """The base URL serving ``fault`` and a function counting the calls it received."""
    if fault in FAKE_FAULTS:
        reply = FAKE_FAULTS[fault]
        fake.responder = lambda path, body: reply
        yield fake.base_url, lambda: sum(r.method == "POST" for r in fake.requests)
    elif fault in RESETS:
        kind: Fault = "reset_before_response" if "before" in fault else "reset_after_first_byte"
        with ResettingUpstream(kind) as raw:
            yield raw.base_url, lambda: len(raw.requests)
    else:
        yield refused_base_url(), lambda: 0


def _healthy(path: str, body: dict[str, Any]) -> Reply:
    text = last_user_text(body)
    if "Write a complete Python 3 program" in text:  # S*'s sampling prompt
        return Reply(texts=[PROGRAM] * int(body.get("n") or 1))
    if text == TASK:  # the client's own request, passed through
        return Reply(text=PROGRAM)
    return Reply(text='```json\n["4 5\\n"]\n```')  # synthesized inputs


@pytest.fixture(scope="module", autouse=True)
def _litellm_imported() -> None:
    """The first litellm import takes seconds; no request of this module must pay for it."""
    warm_up()


@pytest.fixture(scope="module")
def healthy_calls(fake_upstream_server: FakeUpstream) -> dict[str, int]:
    """Upstream calls of each route's request against a healthy upstream."""
    fake = fake_upstream_server
    counts: dict[str, int] = {}
    for route in ROUTES:
        fake.reset(_healthy)
        with _proxy(fake.base_url) as url:
            response, _ = _post(url, route)
        assert response.status_code == 200, response.text
        assert "error" not in response.text
        counts[route] = sum(r.method == "POST" for r in fake.requests)
    fake.reset()
    assert counts["passthrough_json"] == counts["passthrough_stream"] == 1
    assert counts["sstar_json"] >= 3  # greedy, n = N - 1, synthesis
    return counts


def _error_of(response: httpx.Response, route: str) -> tuple[int, dict[str, Any] | None]:
    """The status and error object a client sees (for a stream after its 200: the error event,
    which must be followed by ``[DONE]`` and nothing else)."""
    if response.status_code != 200:
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
        return response.status_code, body["error"]
    if not route.endswith("stream"):
        return 200, None
    events = sse_payloads(response.text)
    assert events[-1] == "[DONE]"
    errors = [e for e in events if isinstance(e, dict) and "error" in e]
    if not errors:
        return 200, None
    assert events[-2] is errors[0]  # the error event is the last before [DONE]
    assert len(errors) == 1
    return 200, errors[0]["error"]


def _check_message(actual: str, expected: str) -> None:
    if expected.endswith("..."):
        assert actual.startswith(expected.removesuffix("...")), actual
    else:
        assert actual == expected


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_matrix(fault, route, fake_upstream, healthy_calls) -> None:
    sstar = route.startswith("sstar")
    stream = route.endswith("stream")
    expected = _sstar_expected(fault) if sstar else _passthrough_expected(fault, stream=stream)
    with _upstream(fault, fake_upstream) as (base_url, calls), _proxy(base_url) as url:
        response, elapsed = _post(url, route)
        made = calls()

    status, error = _error_of(response, route)
    if sstar and stream:
        assert status == 200  # the role chunk went out first: the error is an event
        assert response.headers["x-sstar-applied"] == "true"
    else:
        assert status == expected.status, f"{response.text} after {made} call(s)"
    if expected.error_type is None:
        assert error is None
    else:
        assert error is not None
        assert error["type"] == expected.error_type, f"{error} after {made} call(s)"
        _check_message(error["message"], expected.message or "")
    if status != 200:
        assert response.headers.get("retry-after") == expected.retry_after
        assert response.headers.get("x-should-retry") == expected.should_retry
    # no upstream text reaches a header
    assert "x-injected" not in response.headers
    assert all("\r" not in v and "\n" not in v for v in response.headers.values())

    # the invariant on upstream calls
    assert made <= healthy_calls[route] * (1 + RETRIES)
    if fault in REFUSALS:
        assert made <= N + RETRIES
    # and on time
    bound = T + (ANSWER_GRACE_S if sstar else 0) + SLACK_S
    assert elapsed < bound, f"{elapsed:.2f} s, {made} call(s)"


def test_a_passthrough_stream_broken_after_its_first_event_keeps_that_event(
    fake_upstream,
) -> None:
    with ResettingUpstream("reset_after_first_byte") as raw, _proxy(raw.base_url) as url:
        response, _ = _post(url, "passthrough_stream")
    events = sse_payloads(response.text)
    assert events[0]["choices"][0]["delta"]["content"] == "Hel"  # the upstream's own event
    assert events[1]["error"]["type"] == "upstream_error"
    assert events[2:] == ["[DONE]"]
    assert len(raw.requests) == 1  # nothing is retried once a byte was relayed


def test_an_upstream_message_with_crlf_never_reaches_a_header(fake_upstream) -> None:
    # auto mode: S* fails on the upstream's error, falls back to pass-through and says why
    def respond(path: str, body: dict[str, Any]) -> Reply:
        if last_user_text(body) == TASK:
            return Reply(text="plain answer")
        return FAKE_FAULTS["crlf_message"]

    fake_upstream.responder = respond
    with _proxy(fake_upstream.base_url) as url:
        response = httpx.post(f"{url}/v1/chat/completions", json=_body("json"), timeout=60)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "plain answer"
    reason = response.headers["x-sstar-reason"]
    assert "boom" in reason
    assert "\r" not in reason
    assert "\n" not in reason
    assert "x-injected" not in response.headers
