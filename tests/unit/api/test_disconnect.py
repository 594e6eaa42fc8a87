"""cancel_on_disconnect: the work wins, or the disconnect cancels it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.types import Message

from proxy.api.disconnect import cancel_on_disconnect
from proxy.errors import ClientDisconnectedError


async def _never_disconnects() -> Message:
    await asyncio.sleep(10)
    return {"type": "http.disconnect"}


async def test_work_result_is_returned():
    async def work() -> int:
        return 42

    assert await cancel_on_disconnect(_never_disconnects, work()) == 42


async def test_work_errors_propagate():
    async def work() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await cancel_on_disconnect(_never_disconnects, work())


async def test_disconnect_cancels_the_work():
    cancelled = asyncio.Event()
    messages: Iterator[Message] = iter(
        [{"type": "http.request", "body": b""}, {"type": "http.disconnect"}]
    )

    async def receive() -> Message:
        await asyncio.sleep(0.01)
        return next(messages)

    async def work() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 1

    with pytest.raises(ClientDisconnectedError):
        await cancel_on_disconnect(receive, work())
    assert cancelled.is_set()
