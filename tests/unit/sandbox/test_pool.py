"""SessionPool with real (local-mode, unisolated) harness sessions: warm refill, no sharing.

The pool logic does not depend on bubblewrap, so these run the real fork-server as a plain
subprocess (as ``LocalSandbox`` does); tests/sandbox/test_pool_warm.py repeats the key checks with
bubblewrap.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox import ExecutionRequest, Limits, Status
from sandbox.bubblewrap import harness_source
from sandbox.launch import LaunchSpec
from sandbox.pool import SessionPool
from sandbox.session import Session
from tests.unit.sandbox.unclean import harness_reporting_unclean

_LIMITS = Limits(wall_time_s=5.0, cpu_time_s=5.0)
_ZYGOTE = "import os\nprint(os.getppid())"  # local mode: a run's parent is its session's zygote


@dataclass
class _Factory:
    """Starts local sessions and counts them."""

    started: list[Session] = field(default_factory=list)
    harness: str = field(default_factory=harness_source)

    async def __call__(self) -> Session:
        workdir = tempfile.mkdtemp(prefix="sstar-pool-test-")

        def argv(ctl_fd: int) -> Sequence[str]:
            return ["/usr/bin/python3", "-I", "-S", "-c", self.harness, str(ctl_fd), "local"]

        spec = LaunchSpec(
            argv=argv,
            cwd=workdir,
            local_rlimit_as=True,
            on_close=lambda: shutil.rmtree(workdir, ignore_errors=True),
        )
        session = await Session.start(spec)
        self.started.append(session)
        return session


@pytest.fixture
async def pool() -> AsyncIterator[tuple[SessionPool, _Factory]]:
    factory = _Factory()
    pool = SessionPool(factory, workers=2, warm=2)
    pool.prewarm()
    try:
        yield pool, factory
    finally:
        await pool.aclose()


async def _zygotes(pool: SessionPool, inputs: int) -> list[int]:
    result = await pool.run(ExecutionRequest(_ZYGOTE, ("",) * inputs, limits=_LIMITS))
    assert all(run.status is Status.OK for run in result.runs), result.runs
    return [int(run.stdout) for run in result.runs]


async def test_the_pool_is_refilled_after_a_burst(pool: tuple[SessionPool, _Factory]) -> None:
    sessions, factory = pool
    await sessions.wait_warm()
    assert sessions.warm_ready == 2
    await asyncio.gather(*(_zygotes(sessions, 1) for _ in range(5)))
    await sessions.wait_warm()
    assert sessions.warm_ready == 2
    # NOTE: one session per request plus the two kept warm: none started on a request's path
    # beyond its own, none shared
    assert len(factory.started) == 2 + 5


async def test_requests_never_share_a_zygote(pool: tuple[SessionPool, _Factory]) -> None:
    sessions, _ = pool
    first, second = await asyncio.gather(_zygotes(sessions, 3), _zygotes(sessions, 3))
    third = await _zygotes(sessions, 2)
    assert len(set(first)) == len(set(second)) == len(set(third)) == 1  # reused within a request
    assert len({first[0], second[0], third[0]}) == 3
    assert os.getpid() not in {first[0], second[0], third[0]}


async def test_a_finished_session_is_killed_not_kept(
    pool: tuple[SessionPool, _Factory],
) -> None:
    sessions, factory = pool
    (zygote,) = await _zygotes(sessions, 1)
    (used,) = [s for s in factory.started if s._process.pid == zygote]
    # the kill was sent synchronously; reaping may still be under way in the background
    status = await asyncio.wait_for(used._process.wait(), 5.0)
    assert status == -9


async def test_pre_started_sessions_prepare_for_the_latest_requests_mode(
    pool: tuple[SessionPool, _Factory],
) -> None:
    """After a function-mode request, the sessions started next import the prelude's modules
    while they wait (a stdin program then finds ``typing`` imported); after a stdin request,
    the next ones stay bare."""
    sessions, _ = pool
    probe = ExecutionRequest("import sys\nprint('typing' in sys.modules)", ("",), limits=_LIMITS)

    async def typing_imported() -> bool:
        await sessions.wait_warm()
        [run] = (await sessions.run(probe)).runs
        return run.stdout == "True\n"

    # two warm places, taken in the order they were started
    assert not await typing_imported()  # started before any request
    function = ExecutionRequest("def f():\n    return 1\n", ("[]",), "function", "f", _LIMITS)
    await sessions.wait_warm()  # the mode is told to a session once it is up
    assert [run.return_json for run in (await sessions.run(function)).runs] == ["1"]
    assert not await typing_imported()  # started while the first probe was the latest request
    assert await typing_imported()  # started while the function request was
    assert not await typing_imported()  # started while the second probe was


async def test_warm_sessions_that_died_meanwhile_are_replaced(
    pool: tuple[SessionPool, _Factory],
) -> None:
    """A pre-started session can die before a request takes it; its load is then not
    acknowledged and the request moves on to another session (up to three), losing no input."""
    sessions, factory = pool
    await sessions.wait_warm()
    dead = [session._process.pid for session in factory.started]
    assert len(dead) == 2
    for pid in dead:
        os.kill(pid, signal.SIGKILL)
    zygotes = await _zygotes(sessions, 2)  # every run OK, or this fails
    assert zygotes[0] == zygotes[1]
    assert zygotes[0] not in dead
    assert len(factory.started) >= 3


async def test_a_request_cancelled_while_its_program_loads_leaves_no_session(
    pool: tuple[SessionPool, _Factory],
) -> None:
    """The load's acknowledgement is awaited (the zygote compiles and imports, then answers); a
    request cancelled meanwhile kills the session it took, which nobody else may get."""
    sessions, _ = pool
    await sessions.wait_warm()
    slow = ExecutionRequest("x = [" + "1, " * 1_000_000 + "]\n", ("",), limits=_LIMITS)
    request = asyncio.ensure_future(sessions.run(slow))
    await asyncio.sleep(0.3)  # a warm session is taken at once; compiling takes about a second
    (taken,) = sessions._active
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert await asyncio.wait_for(taken._process.wait(), 5.0) == -9
    await sessions.wait_warm()  # its reaping done, its warm place refilled
    assert taken not in sessions._active


async def test_a_run_left_unclean_ends_its_session_before_the_next_run_starts(
    tmp_path: Path,
) -> None:
    """The next input's run is handed to the zygote before the current one ends; a run that
    leaves the sandbox unclean (here every run: the wipe wipes but says it failed) ends its
    session, so each input runs once, each on a fresh session, and every result is kept."""
    harness = harness_reporting_unclean()
    factory = _Factory(harness=harness)
    sessions = SessionPool(factory, workers=1, warm=1)
    ledger = tmp_path / "runs.txt"
    program = "import os\nwith open(input(), 'a') as f:\n    f.write(f'{os.getppid()}\\n')\n"
    try:
        result = await sessions.run(ExecutionRequest(program, (str(ledger),) * 3, limits=_LIMITS))
    finally:
        await sessions.aclose()
    assert [run.status for run in result.runs] == [Status.OK] * 3
    zygotes = ledger.read_text().split()
    assert len(zygotes) == 3
    assert len(set(zygotes)) == 3
