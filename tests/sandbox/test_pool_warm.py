"""The warm pool with real bubblewrap: refilled after a burst, and no zygote shared by requests."""

from __future__ import annotations

import asyncio

import pytest

from sandbox import BubblewrapSandbox, ExecutionRequest, Status
from tests.sandbox.conftest import SHORT, Host

pytestmark = pytest.mark.bwrap

# NOTE: every session has its own namespaces, so a run's namespace ids name its zygote's session
_SESSION_ID = "import os\nprint(os.readlink('/proc/self/ns/net'), os.readlink('/proc/self/ns/mnt'))"


async def _session_ids(box: BubblewrapSandbox, host: Host, inputs: int) -> list[str]:
    result = await box.run(ExecutionRequest(_SESSION_ID, ("",) * inputs, limits=SHORT))
    runs = host.keep(result.runs)
    assert all(run.status is Status.OK for run in runs), runs
    return [run.stdout for run in runs]


async def test_the_pool_is_refilled_after_a_burst(sandbox: BubblewrapSandbox, host: Host) -> None:
    await sandbox.wait_warm()
    assert sandbox.warm_ready == 2
    await asyncio.gather(*(_session_ids(sandbox, host, 1) for _ in range(6)))
    await sandbox.wait_warm()
    assert sandbox.warm_ready == 2


async def test_concurrent_requests_never_share_a_zygote(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    first, second = await asyncio.gather(
        _session_ids(sandbox, host, 3), _session_ids(sandbox, host, 3)
    )
    assert len(set(first)) == len(set(second)) == 1  # one session serves a request's inputs
    assert first[0] != second[0]
