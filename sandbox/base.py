"""The sandbox contract: what callers may ask for and what they get back.

Every backend implements :class:`Sandbox`. A request names one program and a batch of inputs; the
result holds one :class:`RunResult` per input, in order. Verdicts here are *execution* verdicts,
decided by the supervisor from evidence outside the candidate (exit status, signals, cgroup
counters, caps, deadlines). Whether an output is *correct* is not the sandbox's business: expected
outputs never enter it, and :mod:`sandbox.compare` judges results against them in the caller.

Infrastructure failures are exceptions (:mod:`sandbox.errors`) when the backend cannot run at all;
a single run that the infrastructure botched is reported as ``Status.SANDBOX_ERROR`` so that one
glitch does not discard a whole batch, and callers never count it for or against a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

Mode = Literal["stdin", "function"]


class Status(StrEnum):
    """Execution verdict of one run (plus ``WRONG_ANSWER``, which only comparison produces)."""

    OK = "OK"
    WRONG_ANSWER = "WRONG_ANSWER"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    TIMEOUT = "TIMEOUT"
    MEMORY_LIMIT = "MEMORY_LIMIT"
    OUTPUT_LIMIT = "OUTPUT_LIMIT"
    SANDBOX_ERROR = "SANDBOX_ERROR"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-run limits: the wall deadline is enforced from outside, the rest by cgroups/rlimits."""

    wall_time_s: float = 5.0
    cpu_time_s: float = 5.0
    memory_mb: int = 256
    stdout_bytes: int = 1 << 20
    stderr_bytes: int = 64 << 10
    processes: int = 32
    file_size_bytes: int = 8 << 20


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """One program run on a batch of inputs.

    ``mode="stdin"``: each input is the program's standard input; results carry stdout.
    ``mode="function"``: each input is a JSON array of positional arguments; the harness imports
    the program, calls ``entry_point`` (a function name, or ``"Solution.method"`` for a fresh
    ``Solution()`` per call) and reports the return value as canonical JSON (see ``RunResult``).
    """

    program: str
    inputs: tuple[str, ...]
    mode: Mode = "stdin"
    entry_point: str | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, slots=True)
class RunResult:
    """What happened when the program met one input.

    ``return_json`` (function mode) is the return value serialized *inside* the sandbox as canonical
    JSON (sorted keys, tuples as lists, non-JSON values as ``{"__repr__": "..."}``); ``None``
    when no value was produced. ``error`` is the exception the harness reported, if any.
    ``stdout``/``stderr`` are decoded with replacement and capped; ``truncated`` says a cap was hit,
    in which case the output must never be compared or clustered.
    """

    status: Status
    stdout: str = ""
    stderr: str = ""
    return_json: str | None = None
    error: str | None = None
    time_s: float = 0.0
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """Results for every input of a request, in input order."""

    runs: tuple[RunResult, ...]


class Sandbox(Protocol):
    """An isolated executor of untrusted programs."""

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run the program on every input; raise ``SandboxUnavailableError`` if it cannot run."""
        ...

    async def aclose(self) -> None:
        """Kill every run still in flight and release pools, cgroups and work directories."""
        ...
