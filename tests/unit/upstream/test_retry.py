"""The retry policy: what is retried, how long it waits, and that it stops."""

from __future__ import annotations

import pytest

from proxy.errors import (
    InvalidRequestError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from proxy.settings import Settings
from proxy.upstream.retry import is_retryable, retrying


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (UpstreamError("down"), True),
        (UpstreamTimeoutError("slow"), True),
        (UpstreamRateLimitError("429"), True),
        (UpstreamStatusError("x", status_code=503), True),
        (UpstreamStatusError("x", status_code=500), True),
        (UpstreamStatusError("x", status_code=400), False),
        (UpstreamStatusError("x", status_code=404), False),
        (InvalidRequestError("x"), False),
        (RuntimeError("bug"), False),
    ],
)
def test_is_retryable(error, retryable):
    assert is_retryable(error) is retryable


async def _run(settings: Settings, errors: list[Exception]) -> tuple[int, list[float]]:
    calls = 0
    policy = retrying(settings)
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    policy.sleep = no_sleep  # type: ignore[assignment]
    async for attempt in policy:
        with attempt:
            calls += 1
            if errors:
                raise errors.pop(0)
    return calls, waits


async def test_attempts_are_bounded():
    settings = Settings(upstream_retries=2, upstream_retry_backoff_s=0.5)
    with pytest.raises(UpstreamError):
        await _run(settings, [UpstreamError("a"), UpstreamError("b"), UpstreamError("c")])


async def test_backoff_grows_with_jitter_and_honours_retry_after():
    settings = Settings(
        upstream_retries=3, upstream_retry_backoff_s=0.5, upstream_retry_max_wait_s=5
    )
    errors: list[Exception] = [
        UpstreamError("a"),
        UpstreamError("b"),
        UpstreamRateLimitError("c", retry_after_s=60),
    ]
    calls, waits = await _run(settings, errors)
    assert calls == 4
    assert 0.5 <= waits[0] <= 1.0
    assert 1.0 <= waits[1] <= 1.5
    assert waits[2] == 5  # Retry-After capped at the maximum wait


async def test_client_errors_are_raised_at_once():
    with pytest.raises(UpstreamStatusError):
        await _run(Settings(upstream_retries=3), [UpstreamStatusError("x", status_code=400)])
