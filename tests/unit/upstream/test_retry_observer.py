"""The retry loop shows every failed attempt to the policy's observer (``proxy.metrics``)."""

from __future__ import annotations

import pytest

from proxy.errors import UpstreamError, UpstreamStatusError, UpstreamTimeoutError
from proxy.upstream.retry import RetryPolicy, call_with_retries


async def test_every_failed_attempt_is_observed_retried_or_not():
    seen: list[UpstreamError] = []
    policy = RetryPolicy(retries=2, backoff_s=0.0, observer=seen.append)
    failures = [UpstreamTimeoutError("slow"), UpstreamStatusError("boom", status_code=503)]

    async def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    assert await call_with_retries(policy, attempt) == "ok"
    assert [type(e) for e in seen] == [UpstreamTimeoutError, UpstreamStatusError]


async def test_the_final_failure_is_observed_too():
    seen: list[UpstreamError] = []
    policy = RetryPolicy(retries=0, observer=seen.append)

    async def attempt() -> str:
        raise UpstreamStatusError("no", status_code=400)

    with pytest.raises(UpstreamStatusError):
        await call_with_retries(policy, attempt)
    assert len(seen) == 1


def test_an_observer_does_not_change_what_a_policy_is():
    assert RetryPolicy(retries=1, observer=lambda exc: None) == RetryPolicy(retries=1)
