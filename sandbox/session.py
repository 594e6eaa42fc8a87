"""One sandbox session: a warm zygote (``harness.py``) supervised from outside.

A session is launched before it is needed (so requests never wait for bwrap and the interpreter),
then serves exactly one request: it receives that request's program once and forks a fresh child
per input. Per-run pipes are created here and passed in by SCM_RIGHTS, so the supervisor reads the
child's stdout/stderr/result directly, with caps, from the first byte. The wall deadline is the
supervisor's: when it fires, or a cap is hit, the whole session is killed from outside (process
group + cgroup) and the caller continues the request on a fresh session.

Runs are handed over one ahead: while run ``i`` executes, run ``i + 1``'s frame and pipes already
wait in the zygote's socket, so the zygote forks it the moment it has reported run ``i`` and
cleaned up after it, and the supervisor's work on run ``i``'s verdict overlaps run ``i + 1``
instead of leaving the session idle (bench/README.md, "Sandbox throughput", third round). A
queued run never starts after a run that left the sandbox unclean (the zygote stops), and its
wall deadline counts from the previous report's arrival. The one thing the overlap blurs is the
session's OOM counter: a kill counted when run ``i`` reports may be run ``i + 1``'s, so run ``i``
is then run again with nothing queued behind it (:attr:`Served.repeat_alone`).

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
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.base import Limits, RunResult, Status
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

    at: float  # loop time the end was seen (for a report: when it arrived)
    report: dict[str, object] | None = None
    timed_out: bool = False
    overflowed: bool = False
    died: bool = False


@dataclass(slots=True)
class _Submitted:
    """A run handed to the zygote (its frame and pipes are sent); its report is still to come."""

    nonce: str
    readers: list[CappedReader]
    writer: PipeWriter

    def discard(self) -> None:
        """Release the supervisor's ends of the run's pipes (the readers keep what they read)."""
        self.writer.close()
        for reader in self.readers:
            reader.close()


@dataclass(frozen=True, slots=True)
class Served:
    """What one session did with a request's remaining inputs."""

    results: list[RunResult]  # one per input served, in order: a prefix of the inputs
    usable: bool  # the session may run more of the request's inputs
    # NOTE: True when the OOM counter rose while the next run was queued: nothing tells whose kill
    # it was, so the first input without a result must run again with nothing queued behind it.
    repeat_alone: bool = False


class Session:
    """Supervisor-side handle of one zygote; see the module docstring for the life cycle."""

    def __init__(self, spec: LaunchSpec, process: Launched, ctl: socket.socket):
        self._spec = spec
        self._process = process
        self._ctl = ctl
        self._loop = asyncio.get_running_loop()
        self._buf = b""
        self._frames: deque[tuple[float, dict[str, object]]] = deque()  # (arrival, frame)
        self._waiter: asyncio.Future[None] | None = None
        self._ctl_open = True  # False once the zygote closed the socket (or it failed)
        self._closed = False
        self._oom_seen = 0
        self._loading = False  # a load was sent and its acknowledgement is still to be read
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
                await session._recv()  # the hello
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
        arrived = self._loop.time()
        while len(self._buf) >= 4:
            size = struct.unpack(">I", self._buf[:4])[0]
            if len(self._buf) < 4 + size:
                return
            frame, self._buf = self._buf[4 : 4 + size], self._buf[4 + size :]
            message = json.loads(frame)
            if not isinstance(message, dict):
                raise ValueError("control frame is not an object")
            self._frames.append((arrived, message))

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

    async def _recv(self) -> tuple[float, dict[str, object]]:
        """The next frame and the loop time it arrived."""
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
        self._send({"type": "expect", "mode": mode})
        await self._answer("expect", "expected")

    def load(self, program: str, mode: str, entry_point: str | None, limits: Limits) -> None:
        """Give the zygote its one program and size the session's cgroup for ``limits``.

        Not awaited here: :meth:`serve` hands the first runs over behind the load at once and
        waits for the zygote's acknowledgement (it has compiled the program and imported its
        modules) before the first run's deadline starts, so imports never count against a run.
        """
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
        self._send(message)
        self._loading = True

    async def _answer(self, what: str, done: str) -> float:
        """Wait for the zygote's ``{done: true}`` to a set-up frame; the loop time it arrived."""
        try:
            async with asyncio.timeout(_SETUP_TIMEOUT_S):
                arrived, answer = await self._recv()
        except TimeoutError as exc:
            raise SandboxCrashedError(f"sandbox session did not answer {what}") from exc
        if answer != {done: True}:
            raise SandboxCrashedError("sandbox session sent an unexpected frame")
        return arrived

    async def serve(self, inputs: Sequence[bytes], limits: Limits, *, ahead: bool = True) -> Served:
        """Run the loaded program on ``inputs`` in order until one leaves the session unusable.

        With ``ahead`` each next run is handed over before the current one ends (module
        docstring). The session is usable afterwards only if every run exited cleanly. Raises
        :class:`SandboxCrashedError` only when the zygote does not acknowledge :meth:`load`.
        """
        loading, self._loading = self._loading, False
        if len(self._frames) > loading:  # a frame nobody asked for: never let it stand for a report
            self.kill()
            error = "sandbox session sent an unexpected frame"
            return Served([RunResult(Status.SANDBOX_ERROR, error=error)], usable=False)
        results: list[RunResult] = []
        queued: deque[_Submitted] = deque()
        started = self._loop.time()
        try:
            for index, stdin in enumerate(inputs):
                if not queued:
                    try:
                        queued.append(self._submit(stdin, limits))
                    except SandboxCrashedError as exc:
                        self.kill()
                        results.append(RunResult(Status.SANDBOX_ERROR, error=str(exc)))
                        return Served(results, usable=False)
                if ahead and index + 1 < len(inputs):
                    # NOTE: a failed hand-over is the current run's to report: its end says why
                    with contextlib.suppress(SandboxCrashedError):
                        queued.append(self._submit(inputs[index + 1], limits))
                if loading:  # the first runs wait behind the load; their deadlines start after it
                    started, loading = await self._answer("load", "loaded"), False
                current = queued.popleft()
                end = await self._await_exit(current.readers, limits, started)
                if end.report is not None:
                    await self._drain(current.readers)
                current.discard()
                clean = end.report is not None and end.report.get("clean") is True
                oom = self._oom_since_last_read()
                if oom and clean and queued:  # the queued run may have started: whose kill?
                    self.kill()
                    _log.info("sandbox_run_repeated", extra={"reason": "oom_with_a_run_queued"})
                    return Served(results, usable=False, repeat_alone=True)
                results.append(self._verdict(current, end, limits, oom, started))
                if not clean or oom:
                    self.kill()  # nothing of this run, nor the one queued behind it, runs on
                    return Served(results, usable=False)
                started = end.at
            return Served(results, usable=True)
        finally:
            for run in queued:
                run.discard()

    def _oom_since_last_read(self) -> bool:
        """Whether the session's cgroup counted an OOM kill since the last look (one read)."""
        if self._spec.cgroup is None:
            return False
        kills = self._spec.cgroup.oom_kills()
        oom, self._oom_seen = kills > self._oom_seen, kills
        return oom

    def _verdict(
        self, run: _Submitted, end: _End, limits: Limits, oom: bool, started: float
    ) -> RunResult:
        report = end.report or {}
        wall = report.get("wall_s")  # the zygote's fork-to-exit time; ours includes our lag
        return decide(
            Evidence(
                wait_status=_int_or_none(report.get("status")),
                cpu_s=float(report.get("cpu_s", 0.0)),  # type: ignore[arg-type]
                cpu_limit_s=limits.cpu_time_s,
                oom_killed=oom,
                # NOTE: a cap can also be reached while draining after the report
                overflowed=end.overflowed or any(r.overflowed for r in run.readers),
                timed_out=end.timed_out,
                session_died=end.died,
                stdout=run.readers[0].data,
                stderr=run.readers[1].data,
                record=run.readers[2].data,
                nonce=run.nonce,
                time_s=float(wall) if isinstance(wall, float | int) else end.at - started,
            )
        )

    def _submit(self, stdin: bytes, limits: Limits) -> _Submitted:
        """Hand one run to the zygote: fresh pipes by SCM_RIGHTS, stdin fed, outputs drained."""
        nonce = secrets.token_hex(16)
        pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(4)]
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
        try:
            self._send({"type": "run", "nonce": nonce, "limits": self._limits(limits)}, theirs)
        except SandboxCrashedError:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:  # the zygote holds its copies now; ours would block EOF
                os.close(fd)
        caps = (limits.stdout_bytes, limits.stderr_bytes, _RESULT_CAP)
        readers = [
            CappedReader(fd, cap, self._loop, self._wake)
            for fd, cap in zip(ours[1:], caps, strict=True)
        ]
        return _Submitted(nonce, readers, PipeWriter(ours[0], stdin, self._loop))

    def _limits(self, limits: Limits) -> dict[str, object]:
        return {
            "cpu_s": limits.cpu_time_s,
            "fsize": limits.file_size_bytes,
            "nofile": _NOFILE,
            "as_bytes": (limits.memory_mb << 20) if self._spec.local_rlimit_as else 0,
        }

    async def _await_exit(
        self, readers: list[CappedReader], limits: Limits, started: float
    ) -> _End:
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

        timer = self._loop.call_at(started + limits.wall_time_s, expire)
        try:
            while True:
                now = self._loop.time()
                if self._closed:
                    return _End(now, died=True)
                if any(r.overflowed for r in readers):
                    return _End(now, overflowed=True)
                if self._frames:
                    arrived, report = self._frames.popleft()
                    return _End(arrived, report=report)
                if not self._ctl_open:
                    return _End(now, died=True)
                if expired:
                    return _End(now, timed_out=True)
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
