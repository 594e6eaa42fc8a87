"""Live tests against the real embedded model (llama-server + Qwen2.5-Coder on the local CPU).

Enabled by ``SSTAR_LIVE=1`` (``scripts/test`` sets it); otherwise every ``@pytest.mark.live`` test
is skipped. The session fixture prepares the model once (cached: milliseconds when warm, ~4 min
for the one-time llama.cpp build on a fresh machine) and starts one ``LocalModelServer`` shared by
every live test. Environment knobs, read once per session:

    SSTAR_LIVE_MODEL        model name (default qwen2.5-coder-0.5b)
    SSTAR_LIVE_THREADS      decoding threads (default: the server's default)
    SSTAR_LIVE_CACHE_DIR    cache directory (default: the user cache, as ``sstar-proxy serve``)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy.local_model import DEFAULT_MODEL, LocalModelServer, prepare_local_model

LIVE_ENABLED = os.environ.get("SSTAR_LIVE") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if LIVE_ENABLED:
        return
    skip = pytest.mark.skip(reason="live model test: set SSTAR_LIVE=1 (scripts/test does)")
    for item in items:
        if item.get_closest_marker("live") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def local_model_server() -> Iterator[LocalModelServer]:
    """One real model server for the whole session: use ``.api_base`` and ``.model_name``.

    Eight parallel slots, so S* tests can send their samples concurrently.
    """
    if not LIVE_ENABLED:
        pytest.skip("live model test: set SSTAR_LIVE=1")
    cache = os.environ.get("SSTAR_LIVE_CACHE_DIR")
    threads = os.environ.get("SSTAR_LIVE_THREADS")
    prepared = prepare_local_model(
        os.environ.get("SSTAR_LIVE_MODEL", DEFAULT_MODEL),
        Path(cache) if cache else None,
        progress=True,
    )
    server = LocalModelServer(
        prepared, threads=int(threads) if threads else None, parallel=8, ctx_per_slot=4096
    )
    with server:
        yield server
