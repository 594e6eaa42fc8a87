"""One sandbox session: a warm zygote (``harness.py``) supervised from outside.

A session is launched before it is needed (so requests never wait for bwrap and the interpreter),
then serves exactly one request: it receives that request's program once and forks a fresh child
per input. Per-run pipes are created here and passed in by SCM_RIGHTS, so the supervisor reads the
child's stdout/stderr/result directly, with caps, from the first byte. The wall deadline is the
supervisor's: when it fires, or a cap is hit, the whole session is killed from outside (process
group + cgroup) and the caller continues the request on a fresh session.

The host-side work per run is kept small, since it bounds how runs scale with cores: one reader
on the control socket for the session's life, one waiter per run that the report, a cap, the
deadline timer or ``close()`` wakes (no task per event), outputs read to EOF in the same step once
the report is in, and one cgroup counter read.
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
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.base import Limits, RunResult
from sandbox.errors import SandboxCrashedError
from sandbox.launch import Launched, LaunchSpec, launch
from sandbox.pipes import CappedReader, PipeWriter
from sandbox.verdict import Evidence, decide

_log = logging.getLogger(__name__)
_HELLO_TIMEOUT_S = 10.0
_SETUP_TIMEOUT_S = 10.0  # a compile and a few stdlib imports; more only on a machine in trouble
_DRAIN_GRACE_S = 1.0
_SEND_TIMEOUT_S = 5.0
_REAP_TIMEOUT_S = 5.0
_RESULT_CAP = 4 << 20
_NOFILE = 256


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

    def __init__(self, spec: LaunchSpec, process: Launched, ctl: socket.socket):
        self._spec = spec
        self._process = process
        self._ctl = ctl
        self._loop = asyncio.get_running_loop()
        self._buf = b""
        self._frames: deque[dict[str, object]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._ctl_open = True  # False once the zygote closed the socket (or it failed)
        self._closed = False
        self._oom_seen = 0
        # NOTE: one reader for the session's life, not one per frame: a run costs no task and
        # no epoll registration for its exit report (SANDBOX.md §4, host-side cost per run).
        self._loop.add_reader(ctl.fileno(), self._on_ctl)

    @classmethod
    async def start(cls, spec: LaunchSpec) -> Session:
        """Launch the zygote in its own process group (and cgroup) and wait until it is warm."""
        process, ours = launch(spec)
        session = cls(spec, process, ours)
        try:
            async with asyncio.timeout(_HELLO_TIMEOUT_S):
                await session._recv()
        except (TimeoutError, SandboxCrashedError) as exc:
            await session.close()  # reaps the launcher and reads what it wrote
            reason = process.error_tail or "no error output"
            raise SandboxCrashedError(
                f"sandbox did not start (exit {process.returncode}): {reason}"
            ) from exc
        except BaseException:
            await asyncio.shield(session.close())
            raise
        return session

    def _on_ctl(self) -> None:
        """Control socket readable: collect complete frames, then wake whoever waits."""
        try:
            data = self._ctl.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
        else:
            self._buf += data
            try:
                self._parse_frames()
            except ValueError:  # not our protocol any more: treat the session as dead
                self._stop_reading()
        self._wake()

    def _parse_frames(self) -> None:
        while len(self._buf) >= 4:
            size = struct.unpack(">I", self._buf[:4])[0]
            if len(self._buf) < 4 + size:
                return
            frame, self._buf = self._buf[4 : 4 + size], self._buf[4 + size :]
            message = json.loads(frame)
            if not isinstance(message, dict):
                raise ValueError("control frame is not an object")
            self._frames.append(message)

    def _stop_reading(self) -> None:
        if self._ctl_open:
            self._ctl_open = False
            self._loop.remove_reader(self._ctl.fileno())

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        """Sleep until a frame, the socket's end, an overflow, a deadline or ``close()``."""
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def _recv(self) -> dict[str, object]:
        while not self._frames:
            if not self._ctl_open or self._closed:
                raise SandboxCrashedError("sandbox session closed its control socket")
            await self._wait()
        return self._frames.popleft()

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

    async def expect(self, mode: str) -> None:
        """Have the idle zygote import what any program of ``mode`` needs (function mode: the
        prelude's modules), so a request of that mode does not wait for them at load."""
        await self._ask({"type": "expect", "mode": mode}, "expected")

    async def load(self, program: str, mode: str, entry_point: str | None, limits: Limits) -> None:
        """Give the zygote its one program, size the session's cgroup for ``limits``, and wait
        until the zygote has compiled it and imported its modules (off every run's deadline)."""
        if self._spec.cgroup is not None:
            try:
                self._spec.cgroup.set_limits(
                    memory_bytes=(limits.memory_mb << 20) + self._spec.memory_headroom_bytes,
                    pids=limits.processes + 2,
                )
                self._oom_seen = self._spec.cgroup.oom_kills()
            except OSError as exc:
                raise SandboxCrashedError(f"cannot set cgroup limits: {exc}") from exc
        message: dict[str, object] = {
            "type": "load",
            "program": program,
            "mode": mode,
            "entry": entry_point,
        }
        await self._ask(message, "loaded")

    async def _ask(self, message: dict[str, object], done: str) -> None:
        """Send a set-up frame and wait for the zygote's ``{done: true}``."""
        self._send(message)
        try:
            async with asyncio.timeout(_SETUP_TIMEOUT_S):
                answer = await self._recv()
        except TimeoutError as exc:
            raise SandboxCrashedError(f"sandbox session did not answer {message['type']}") from exc
        if answer != {done: True}:
            raise SandboxCrashedError("sandbox session sent an unexpected frame")

    async def run(self, stdin: bytes, limits: Limits) -> _Outcome:
        """Run the loaded program once; the session is reusable only after a clean exit."""
        cgroup = self._spec.cgroup
        nonce = secrets.token_hex(16)
        started = time.monotonic()
        readers, end = await self._supervise(stdin, limits, nonce)
        reusable = end.report is not None and end.report.get("clean") is True
        if not reusable:
            self.kill()
        oom = False
        if cgroup is not None:  # one counter read per run: the last one is remembered
            kills = cgroup.oom_kills()
            oom, self._oom_seen = kills > self._oom_seen, kills
        report = end.report or {}
        evidence = Evidence(
            wait_status=_int_or_none(report.get("status")),
            cpu_s=float(report.get("cpu_s", 0.0)),  # type: ignore[arg-type]
            cpu_limit_s=limits.cpu_time_s,
            oom_killed=oom,
            # NOTE: a cap can also be reached while draining after the report
            overflowed=end.overflowed or any(r.overflowed for r in readers),
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
        if self._frames:  # a report nobody asked for: never let it stand for this run's
            raise SandboxCrashedError("sandbox session sent an unexpected frame")
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
            readers = [
                CappedReader(fd, cap, self._loop, self._wake)
                for fd, cap in zip(ours[1:], caps, strict=True)
            ]
            writer = PipeWriter(ours[0], stdin, self._loop)
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
        """Wait for the zygote's exit report, an output cap, the wall deadline or ``close()``.

        Every source only wakes this one waiter (a frame, a reader's overflow callback, the
        deadline timer, ``close()``); what happened is read from the state afterwards, in the
        precedence of SANDBOX.md §3: a closed session, then a cap, then the report, then time.
        """
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            self._wake()

        timer = self._loop.call_later(limits.wall_time_s, expire)
        try:
            while True:
                if self._closed:
                    return _End(died=True)
                if any(r.overflowed for r in readers):
                    return _End(overflowed=True)
                if self._frames:
                    return _End(report=self._frames.popleft())
                if not self._ctl_open:
                    return _End(died=True)
                if expired:
                    return _End(timed_out=True)
                await self._wait()
        finally:
            timer.cancel()

    async def _drain(self, readers: list[CappedReader]) -> None:
        """After the exit report every writer is gone; collect what is still buffered."""
        for reader in readers:
            reader.read_available()
        pending = [r.eof for r in readers if not r.eof.done()]
        if pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_DRAIN_GRACE_S):
                    await asyncio.gather(*pending)

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
        self._stop_reading()
        self._wake()  # a run in flight ends now, as a dead session
        self._ctl.close()
        try:
            async with asyncio.timeout(_REAP_TIMEOUT_S):
                await self._process.wait()
        finally:
            self._process.release()
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
