"""Turning the supervisor's evidence about one run into a :class:`RunResult`.

Every input here was gathered outside the candidate: the wait status reported for the forked
child, its CPU time, the cgroup OOM counter, the capped readers and the wall deadline. Text the
candidate printed never decides a verdict; the completion record on the result pipe only says
that the harness reached its end (and carries the return value), and it must bear the run's nonce.
Precedence (SANDBOX.md §3): MLE > OLE > TLE > RE > WA/OK.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass

from sandbox.base import RunResult, Status


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the supervisor observed about one run."""

    wait_status: int | None  # None: no exit report (deadline, cap or a dead session)
    cpu_s: float
    cpu_limit_s: float
    oom_killed: bool
    overflowed: bool
    timed_out: bool
    session_died: bool
    stdout: bytes
    stderr: bytes
    record: bytes
    nonce: str
    time_s: float


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _completion(record: bytes, nonce: str) -> dict[str, object] | None:
    """The harness's completion record, if one with the right nonce was written."""
    for line in reversed(record.splitlines()):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and parsed.get("nonce") == nonce:
            return parsed
    return None


def _status_of(ev: Evidence, record: dict[str, object] | None) -> tuple[Status, str | None]:
    if ev.oom_killed:
        return Status.MEMORY_LIMIT, "memory limit exceeded"
    if ev.overflowed:
        return Status.OUTPUT_LIMIT, "output limit exceeded"
    if ev.timed_out:
        return Status.TIMEOUT, "wall time limit exceeded"
    if ev.wait_status is None:
        return Status.SANDBOX_ERROR, "sandbox session died"
    if os.WIFSIGNALED(ev.wait_status):
        sig = os.WTERMSIG(ev.wait_status)
        # SIGXCPU comes only from RLIMIT_CPU (or the program itself); the SIGKILL a second later
        # is the hard limit when SIGXCPU was ignored, told apart from others by the CPU used.
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and ev.cpu_s >= ev.cpu_limit_s * 0.9):
            return Status.TIMEOUT, "cpu time limit exceeded"
        return Status.RUNTIME_ERROR, f"killed by signal {signal.Signals(sig).name}"
    code = os.WEXITSTATUS(ev.wait_status)
    error = str(record["error"]) if record and "error" in record else None
    if code != 0:
        return Status.RUNTIME_ERROR, error or f"exit status {code}"
    if record is None or record.get("ok") is not True:
        return Status.WRONG_ANSWER, error or "exited before the completion record"
    return Status.OK, None


def decide(ev: Evidence) -> RunResult:
    """The run's verdict and outputs; truncated outputs are flagged and never compared."""
    record = _completion(ev.record, ev.nonce)
    status, error = _status_of(ev, record)
    returned = record.get("return") if record and status is Status.OK else None
    return RunResult(
        status=status,
        stdout=_decode(ev.stdout),
        stderr=_decode(ev.stderr),
        return_json=returned if isinstance(returned, str) else None,
        error=error,
        time_s=round(ev.time_s, 6),
        truncated=ev.overflowed,
    )
