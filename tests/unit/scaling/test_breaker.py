"""The run's breaker: what opens it, and the one verdict a run relays."""

from __future__ import annotations

import pytest

from proxy.errors import UpstreamError, UpstreamRateLimitError, UpstreamStatusError
from proxy.scaling.breaker import Breaker


@pytest.mark.parametrize("status", [401, 403, 429])
def test_a_refusal_opens_it_on_the_first_attempt(status):
    breaker = Breaker()
    refusal = UpstreamStatusError("no", status_code=status)
    assert breaker.allows_retry(refusal) is False
    assert breaker.cause is refusal


def test_other_faults_may_be_retried_until_a_call_fails():
    breaker = Breaker()
    fault = UpstreamStatusError("boom", status_code=500)
    assert breaker.allows_retry(fault) is True
    assert not breaker.open
    breaker.call_failed(fault)
    assert breaker.cause is fault
    assert breaker.allows_retry(UpstreamError("again")) is False


def test_the_first_cause_is_kept_and_its_verdict_relayed():
    breaker = Breaker()
    spent = UpstreamError("down")
    spent.should_retry = False  # the call spent its retries
    breaker.call_failed(spent)
    stopped = UpstreamError("down too")
    stopped.should_retry = True  # this one was stopped early, by the breaker
    breaker.call_failed(stopped)
    assert breaker.cause is spent
    assert stopped.should_retry is False


def test_a_verdict_the_upstream_gave_is_not_overridden():
    breaker = Breaker()
    first = UpstreamRateLimitError("slow")
    first.should_retry = True
    breaker.call_failed(first)
    final = UpstreamStatusError("bad", status_code=400)
    breaker.call_failed(final)
    assert final.should_retry is None
