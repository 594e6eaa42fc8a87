"""The retry policy: what is retried, how long it waits, that it stops, and what it relays."""

from __future__ import annotations

import asyncio

import pytest

from proxy.errors import (
    InvalidRequestError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from proxy.settings import Settings
from proxy.upstream.retry import (
    RetryPolicy,
    call_with_retries,
    is_retryable,
    retry_after_from,
    should_retry_from,
)


def _said(error: UpstreamError, should_retry: bool) -> UpstreamError:
    error.should_retry = should_retry
    return error


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (UpstreamError("down"), True),
        (UpstreamTimeoutError("slow"), True),
        (UpstreamRateLimitError("429"), True),
        (UpstreamStatusError("x", status_code=503), True),
        (UpstreamStatusError("x", status_code=500), True),
        (UpstreamStatusError("x", status_code=408), True),
        (UpstreamStatusError("x", status_code=409), True),
        (UpstreamStatusError("x", status_code=400), False),
        (UpstreamStatusError("x", status_code=401), False),
        (UpstreamStatusError("x", status_code=404), False),
        (_said(UpstreamStatusError("x", status_code=503), False), False),
        (_said(UpstreamRateLimitError("x"), False), False),
        (_said(UpstreamStatusError("x", status_code=400), True), True),
        (InvalidRequestError("x"), False),
        (RuntimeError("bug"), False),
    ],
)
def test_is_retryable(error, retryable):
    assert is_retryable(error) is retryable


def test_headers_are_read_leniently():
    assert retry_after_from({"retry-after": "3"}) == 3.0
    assert retry_after_from({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_from({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_from({"retry-after": "nan"}) is None
    assert retry_after_from({"retry-after": "-4"}) == 0.0
    assert should_retry_from({"x-should-retry": "False"}) is False
    assert should_retry_from({"x-should-retry": "true"}) is True
    assert should_retry_from({"x-should-retry": "maybe"}) is None
    assert should_retry_from({}) is None


def test_policy_from_settings():
    settings = Settings(
        upstream_retries=3, upstream_retry_backoff_s=0.25, upstream_retry_max_wait_s=7
    )
    assert RetryPolicy.from_settings(settings) == RetryPolicy(3, 0.25, 7.0)


def test_waits_grow_with_jitter_and_honour_retry_after_up_to_the_cap():
    policy = RetryPolicy(retries=3, backoff_s=0.5, max_wait_s=5)
    first = policy.wait_s(UpstreamError("a"), 1)
    second = policy.wait_s(UpstreamError("b"), 2)
    assert first is not None
    assert 0.5 <= first <= 1.0
    assert second is not None
    assert 1.0 <= second <= 1.5
    assert policy.wait_s(UpstreamRateLimitError("c", retry_after_s=4), 3) == 4
    # a Retry-After above the cap is not waited for
    assert policy.wait_s(UpstreamRateLimitError("c", retry_after_s=60), 1) is None
    # attempts spent, or not retryable
    assert policy.wait_s(UpstreamError("d"), 4) is None
    assert policy.wait_s(UpstreamStatusError("e", status_code=400), 1) is None


class _Script:
    """An attempt function failing with the given errors, then answering ``"ok"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_retries_then_succeeds():
    attempt = _Script(UpstreamError("a"), UpstreamRateLimitError("b", retry_after_s=0))
    assert await call_with_retries(RetryPolicy(2, 0.0), attempt) == "ok"
    assert attempt.calls == 3


async def test_spent_retries_relay_should_retry_false_and_a_retry_after_for_429():
    attempt = _Script(*(UpstreamRateLimitError("slow", retry_after_s=0) for _ in range(3)))
    with pytest.raises(UpstreamRateLimitError) as caught:
        await call_with_retries(RetryPolicy(2, 0.0), attempt)
    assert attempt.calls == 3
    assert caught.value.should_retry is False
    assert caught.value.retry_after_s == 0  # the upstream's own (the handler sends >= 1)


async def test_a_503_without_retry_after_gets_the_proxys_estimate():
    attempt = _Script(*(UpstreamStatusError("busy", status_code=503) for _ in range(2)))
    with pytest.raises(UpstreamStatusError) as caught:
        await call_with_retries(RetryPolicy(1, 0.0), attempt)
    assert caught.value.retry_after_s == 1.0
    assert caught.value.should_retry is False


async def test_a_429_the_upstream_says_not_to_retry_still_says_when_to_come_back():
    refusal = UpstreamRateLimitError("quota")
    refusal.should_retry = False
    attempt = _Script(refusal)
    with pytest.raises(UpstreamRateLimitError) as caught:
        await call_with_retries(RetryPolicy(2, 0.0), attempt)
    assert attempt.calls == 1
    assert (caught.value.should_retry, caught.value.retry_after_s) == (False, 1.0)


async def test_a_wait_above_the_cap_gives_up_at_once_and_says_retry_later():
    attempt = _Script(UpstreamRateLimitError("slow", retry_after_s=90))
    with pytest.raises(UpstreamRateLimitError) as caught:
        await call_with_retries(RetryPolicy(2, 0.0, max_wait_s=10), attempt)
    assert attempt.calls == 1
    assert (caught.value.should_retry, caught.value.retry_after_s) == (True, 90)


async def test_no_wait_outlives_the_deadline():
    loop = asyncio.get_running_loop()
    attempt = _Script(UpstreamRateLimitError("slow", retry_after_s=5))
    with pytest.raises(UpstreamRateLimitError) as caught:
        await call_with_retries(RetryPolicy(2, 0.0), attempt, deadline=loop.time() + 1)
    assert attempt.calls == 1
    assert caught.value.should_retry is True


async def test_a_veto_stops_retrying_and_sees_every_failure():
    seen: list[UpstreamError] = []

    def veto(exc: UpstreamError) -> bool:
        seen.append(exc)
        return len(seen) < 2

    attempt = _Script(UpstreamError("a"), UpstreamError("b"), UpstreamError("c"))
    with pytest.raises(UpstreamError, match="b"):
        await call_with_retries(RetryPolicy(5, 0.0), attempt, may_retry=veto)
    assert attempt.calls == 2
    assert [e.message for e in seen] == ["a", "b"]


async def test_client_errors_are_raised_at_once_and_keep_their_verdict():
    attempt = _Script(UpstreamStatusError("x", status_code=400))
    with pytest.raises(UpstreamStatusError) as caught:
        await call_with_retries(RetryPolicy(3, 0.0), attempt)
    assert attempt.calls == 1
    assert caught.value.should_retry is None


async def test_without_retries_the_client_is_told_it_may_retry():
    attempt = _Script(UpstreamError("down"))
    with pytest.raises(UpstreamError) as caught:
        await call_with_retries(RetryPolicy(0, 0.0), attempt)
    assert caught.value.should_retry is True


async def test_other_exceptions_propagate_untouched():
    attempt = _Script(RuntimeError("bug"))
    with pytest.raises(RuntimeError):
        await call_with_retries(RetryPolicy(3, 0.0), attempt)
    assert attempt.calls == 1
