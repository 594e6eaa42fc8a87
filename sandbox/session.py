"""One sandbox session: a warm zygote (``harness.py``) supervised from outside.

A session is launched before it is needed (so requests never wait for bwrap and the interpreter),
then serves exactly one request: it receives that request's program once and forks a fresh child
per input. Per-run pipes are created here and passed in by SCM_RIGHTS, so the supervisor reads the
child's stdout/stderr/result directly, with caps, from the first byte. The wall deadline is the
supervisor's: when it fires, or a cap is hit, the whole session is killed from outside (process
group + cgroup) and the caller continues the request on a fresh session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.base import Limits, RunResult
from sandbox.errors import SandboxCrashedError
from sandbox.launch import LaunchSpec, launch
from sandbox.pipes import CappedReader, PipeWriter
from sandbox.verdict import Evidence, decide

_log = logging.getLogger(__name__)
_HELLO_TIMEOUT_S = 10.0
_DRAIN_GRACE_S = 1.0
_SEND_TIMEOUT_S = 5.0
_REAP_TIMEOUT_S = 5.0
_RESULT_CAP = 4 << 20
_NOFILE = 256
_LAUNCH_ERR_CAP = 64 << 10


@dataclass(frozen=True, slots=True)
class _End:
    """How the supervision of one run ended."""

    report: dict[str, object] | None = None
    timed_out: bool = False
    overflowed: bool = False
    died: bool = False


@dataclass(slots=True)
class _Outcome:
    result: RunResult
    reusable: bool


class Session:
    """Supervisor-side handle of one zygote; see the module docstring for the life cycle."""

    def __init__(self, spec: LaunchSpec, process: asyncio.subprocess.Process, ctl: socket.socket):
        self._spec = spec
        self._process = process
        self._ctl = ctl
        self._buf = b""
        self._closed = False
        self._stopping = asyncio.Event()  # close() was called: a run in flight must end now
        self._idle = asyncio.Event()  # no run in flight (so the socket may be closed)
        self._idle.set()

    @classmethod
    async def start(cls, spec: LaunchSpec) -> Session:
        """Launch the zygote in its own process group (and cgroup) and wait until it is warm."""
        process, ours = await launch(spec)
        session = cls(spec, process, ours)
        try:
            async with asyncio.timeout(_HELLO_TIMEOUT_S):
                await session._recv()
        except (TimeoutError, SandboxCrashedError) as exc:
            await session.close()
            reason = await session._launcher_errors()
            raise SandboxCrashedError(
                f"sandbox did not start (exit {process.returncode}): {reason}"
            ) from exc
        except BaseException:
            await asyncio.shield(session.close())
            raise
        return session

    async def _launcher_errors(self) -> str:
        """The tail of what bwrap (or the zygote) wrote to stderr before dying."""
        if self._process.stderr is None:
            return ""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                data = await self._process.stderr.read(_LAUNCH_ERR_CAP)
                return data.decode(errors="replace").strip()[-500:] or "no error output"
        return "no error output"

    async def _recv(self) -> dict[str, object]:
        loop = asyncio.get_running_loop()
        while len(self._buf) < 4 or len(self._buf) < 4 + struct.unpack(">I", self._buf[:4])[0]:
            data = await loop.sock_recv(self._ctl, 1 << 16)
            if not data:
                raise SandboxCrashedError("sandbox session closed its control socket")
            self._buf += data
        size = struct.unpack(">I", self._buf[:4])[0]
        frame, self._buf = self._buf[4 : 4 + size], self._buf[4 + size :]
        message: dict[str, object] = json.loads(frame)
        return message

    def _send(self, message: dict[str, object], fds: Sequence[int] = ()) -> None:
        data = json.dumps(message).encode()
        frame = struct.pack(">I", len(data)) + data
        try:
            sent = socket.send_fds(self._ctl, [frame], list(fds)) if fds else 0
            if sent < len(frame):  # only a large load frame; the zygote is reading
                self._ctl.settimeout(_SEND_TIMEOUT_S)
                try:
                    self._ctl.sendall(frame[sent:])
                finally:
                    self._ctl.setblocking(False)
        except OSError as exc:
            raise SandboxCrashedError(f"sandbox control socket failed: {exc}") from exc

    def load(self, program: str, mode: str, entry_point: str | None, limits: Limits) -> None:
        """Give the zygote its one program and size the session's cgroup for ``limits``."""
        if self._spec.cgroup is not None:
            try:
                self._spec.cgroup.set_limits(
                    memory_bytes=(limits.memory_mb << 20) + self._spec.memory_headroom_bytes,
                    pids=limits.processes + 2,
                )
            except OSError as exc:
                raise SandboxCrashedError(f"cannot set cgroup limits: {exc}") from exc
        self._send({"type": "load", "program": program, "mode": mode, "entry": entry_point})

    async def run(self, stdin: bytes, limits: Limits) -> _Outcome:
        """Run the loaded program once; the session is reusable only after a clean exit."""
        cgroup = self._spec.cgroup
        oom_before = cgroup.oom_kills() if cgroup is not None else 0
        nonce = secrets.token_hex(16)
        started = time.monotonic()
        readers, end = await self._supervise(stdin, limits, nonce)
        reusable = end.report is not None and end.report.get("clean") is True
        if not reusable:
            self.kill()
        oom = cgroup is not None and cgroup.oom_kills() > oom_before
        report = end.report or {}
        evidence = Evidence(
            wait_status=_int_or_none(report.get("status")),
            cpu_s=float(report.get("cpu_s", 0.0)),  # type: ignore[arg-type]
            cpu_limit_s=limits.cpu_time_s,
            oom_killed=oom,
            overflowed=end.overflowed,
            timed_out=end.timed_out,
            session_died=end.died,
            stdout=readers[0].data,
            stderr=readers[1].data,
            record=readers[2].data,
            nonce=nonce,
            time_s=time.monotonic() - started,
        )
        return _Outcome(decide(evidence), reusable and not oom)

    async def _supervise(
        self, stdin: bytes, limits: Limits, nonce: str
    ) -> tuple[list[CappedReader], _End]:
        """Pass fresh pipes to the zygote, feed stdin, drain outputs with caps until the end."""
        loop = asyncio.get_running_loop()
        pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(4)]
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
        readers: list[CappedReader] = []
        writer: PipeWriter | None = None
        try:
            self._send({"type": "run", "nonce": nonce, "limits": self._limits(limits)}, theirs)
            for fd in theirs:  # the zygote holds its copies now; ours would block EOF
                os.close(fd)
            theirs = []
            caps = (limits.stdout_bytes, limits.stderr_bytes, _RESULT_CAP)
            readers = [CappedReader(fd, cap, loop) for fd, cap in zip(ours[1:], caps, strict=True)]
            writer = PipeWriter(ours[0], stdin, loop)
            ours = []
            end = await self._await_exit(readers, limits)
            if end.report is not None:
                await self._drain(readers)
        finally:
            for fd in (*theirs, *ours):
                os.close(fd)
            if writer is not None:
                writer.close()
            for reader in readers:
                reader.close()
        return readers, end

    def _limits(self, limits: Limits) -> dict[str, object]:
        return {
            "cpu_s": limits.cpu_time_s,
            "fsize": limits.file_size_bytes,
            "nofile": _NOFILE,
            "as_bytes": (limits.memory_mb << 20) if self._spec.local_rlimit_as else 0,
        }

    async def _await_exit(self, readers: list[CappedReader], limits: Limits) -> _End:
        """Wait for the zygote's exit report, an output cap, or the wall deadline."""
        exit_task = asyncio.ensure_future(self._recv())
        cap_tasks = [asyncio.ensure_future(r.overflowed.wait()) for r in readers]
        stop_task = asyncio.ensure_future(self._stopping.wait())
        self._idle.clear()
        try:
            done, _ = await asyncio.wait(
                [exit_task, stop_task, *cap_tasks],
                timeout=limits.wall_time_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for task in (exit_task, stop_task, *cap_tasks):
                task.cancel()
            self._idle.set()
        if stop_task in done:
            return _End(died=True)
        overflowed = any(r.overflowed.is_set() for r in readers)
        failure = exit_task.exception() if exit_task in done else None
        if exit_task in done and not overflowed:
            if failure is not None:
                return _End(died=True)
            return _End(report=exit_task.result())
        return _End(timed_out=not done, overflowed=overflowed)

    async def _drain(self, readers: list[CappedReader]) -> None:
        """After the exit report every writer is gone; collect what is still buffered."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_GRACE_S):
                await asyncio.gather(*(r.eof for r in readers))

    def kill(self) -> None:
        """SIGKILL the whole session now, from outside: process group, then cgroup."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        if self._spec.cgroup is not None:
            self._spec.cgroup.kill()

    async def close(self) -> None:
        """Kill, reap, and remove the cgroup and work directory (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.kill()
        self._stopping.set()
        try:
            # NOTE: closing the socket under a pending sock_recv would leave that read hanging.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DRAIN_GRACE_S):
                    await self._idle.wait()
            self._ctl.close()
            async with asyncio.timeout(_REAP_TIMEOUT_S):
                await asyncio.shield(self._process.wait())
        finally:
            self._ctl.close()
            await self._remove_cgroup()
            self._spec.on_close()

    async def _remove_cgroup(self) -> None:
        if self._spec.cgroup is None:
            return
        try:
            await self._spec.cgroup.aremove()
        except OSError as exc:  # removed at the next start by remove_stale(); never fatal here
            _log.error("sandbox_cgroup_leaked", extra={"reason": str(exc)})


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None
