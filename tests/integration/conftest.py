"""Shared fixtures of the integration tests: the real sandbox the engine runs programs in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox import BubblewrapSandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[BubblewrapSandbox]:
    """A fresh bubblewrap sandbox per test (tests using it are marked ``bwrap``)."""
    box = await BubblewrapSandbox.create()
    try:
        yield box
    finally:
        await box.aclose()
