"""Starting a session's launcher: a launcher that dies says why, and its process is reaped.

Real processes (a shell standing in for bwrap), no sandbox: what is tested is the supervisor's
handling of the launcher's exit and error output, watched through a pidfd.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sandbox import session as session_module
from sandbox.errors import SandboxCrashedError
from sandbox.launch import LaunchSpec
from sandbox.session import Session


def _spec(script: str) -> LaunchSpec:
    def argv(ctl_fd: int) -> Sequence[str]:
        return ["/bin/sh", "-c", script, "sh", str(ctl_fd)]

    return LaunchSpec(argv=argv)


async def test_a_launcher_that_dies_says_why_and_with_which_status() -> None:
    spec = _spec("echo 'bwrap: setting up uid map: Permission denied' >&2; exit 3")
    with pytest.raises(SandboxCrashedError) as raised:
        await Session.start(spec)
    message = str(raised.value)
    assert "exit 3" in message
    assert "bwrap: setting up uid map: Permission denied" in message


async def test_a_flood_of_error_output_is_bounded() -> None:
    spec = _spec("head -c 200000 /dev/zero | tr '\\0' x >&2; exit 1")
    with pytest.raises(SandboxCrashedError) as raised:
        await Session.start(spec)
    message = str(raised.value)
    assert "x" * 400 in message
    assert len(message) < 700


async def test_a_silent_launcher_that_never_says_hello_is_killed_and_reaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "_HELLO_TIMEOUT_S", 0.5)
    with pytest.raises(SandboxCrashedError) as raised:
        await Session.start(_spec("exec sleep 60"))  # the hello timeout, then the kill
    # NOTE: the status is known only once the launcher was reaped
    assert "exit -9" in str(raised.value)
    assert "no error output" in str(raised.value)
