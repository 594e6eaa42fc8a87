"""Verdicts from supervisor evidence, and their precedence (SANDBOX.md §3)."""

from __future__ import annotations

import json
import signal
from dataclasses import replace

from sandbox import Status
from sandbox.verdict import Evidence, decide

NONCE = "n" * 32


def _record(**fields: object) -> bytes:
    return (json.dumps({"nonce": NONCE, **fields}) + "\n").encode()


BASE = Evidence(
    wait_status=0,
    cpu_s=0.01,
    cpu_limit_s=1.0,
    oom_killed=False,
    overflowed=False,
    timed_out=False,
    session_died=False,
    stdout=b"out",
    stderr=b"",
    record=_record(ok=True),
    nonce=NONCE,
    time_s=0.01,
)


def _exit(code: int) -> int:
    return code << 8


def test_clean_exit_with_record_is_ok() -> None:
    result = decide(BASE)
    assert result.status is Status.OK
    assert result.stdout == "out"


def test_return_value_is_taken_from_the_record() -> None:
    result = decide(replace(BASE, record=_record(ok=True, **{"return": "[1]"})))
    assert result.return_json == "[1]"


def test_missing_or_forged_record_is_wrong_answer() -> None:
    assert decide(replace(BASE, record=b"")).status is Status.WRONG_ANSWER
    forged = b'{"nonce": "guess", "ok": true}\n'
    assert decide(replace(BASE, record=forged)).status is Status.WRONG_ANSWER


def test_nonzero_exit_is_runtime_error_with_reason() -> None:
    result = decide(replace(BASE, wait_status=_exit(1), record=_record(ok=False, error="E: x")))
    assert result.status is Status.RUNTIME_ERROR
    assert result.error == "E: x"


def test_signals() -> None:
    assert decide(replace(BASE, wait_status=signal.SIGSEGV)).status is Status.RUNTIME_ERROR
    cpu = replace(BASE, wait_status=signal.SIGXCPU, cpu_s=0.5)
    assert decide(cpu).status is Status.TIMEOUT
    hard = replace(BASE, wait_status=signal.SIGKILL, cpu_s=2.0)
    assert decide(hard).status is Status.TIMEOUT
    assert decide(replace(BASE, wait_status=signal.SIGKILL)).status is Status.RUNTIME_ERROR


def test_precedence_mle_ole_tle_re() -> None:
    everything = replace(BASE, oom_killed=True, overflowed=True, timed_out=True, wait_status=9)
    assert decide(everything).status is Status.MEMORY_LIMIT
    assert decide(replace(everything, oom_killed=False)).status is Status.OUTPUT_LIMIT
    no_cap = replace(everything, oom_killed=False, overflowed=False)
    assert decide(no_cap).status is Status.TIMEOUT
    assert decide(replace(BASE, overflowed=True)).truncated


def test_dead_session_is_sandbox_error() -> None:
    died = replace(BASE, wait_status=None, session_died=True)
    assert decide(died).status is Status.SANDBOX_ERROR


def test_invalid_bytes_are_replaced() -> None:
    result = decide(replace(BASE, stdout=b"\xff\x00ok"))
    assert result.stdout == "\ufffd\x00ok"
