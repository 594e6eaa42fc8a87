"""What a worker's answers mean to :class:`~sandbox.remote.RemoteSandbox`.

A batch answer is either the results (``service/wire.py``) or a ``WorkerFault`` of one kind,
which decides what the client does with that worker (``fleet.py``) before it retries the batch
elsewhere:

- ``gone``: unreachable, the connection broke mid-batch, a 503 (draining, sandbox unavailable)
  or a 401/403 (the token): not ready until a probe of ``/ready`` says otherwise;
- ``failing``: a timeout, another 5xx, or a 200 whose results do not parse or do not match the
  batch: paused for a growing backoff;
- ``busy``: a 429: skipped for its ``Retry-After``.

A 400, 413 or 422 refuses the batch itself (beyond the worker's caps): every worker would, so it
is ``SandboxCrashedError`` and never retried. A ``/ready`` answer is the worker's capacity
(its ``workers``) or the reason it is not ready.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

import httpx

from sandbox.base import ExecutionRequest, ExecutionResult
from sandbox.errors import SandboxCrashedError
from sandbox.service.wire import decode_results, error_message

FaultKind = Literal["gone", "failing", "busy"]


class WorkerFault(Exception):
    """A batch failed at a worker in a way another worker can fix (see the module docstring)."""

    def __init__(self, kind: FaultKind, reason: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(reason)
        self.kind: FaultKind = kind
        self.reason = reason
        self.retry_after_s = retry_after_s


def transport_fault(exc: httpx.TransportError) -> WorkerFault:
    """No answer at all: a timeout is ``failing``, anything else (refused, reset) ``gone``."""
    kind: FaultKind = "failing" if isinstance(exc, httpx.TimeoutException) else "gone"
    what = "timed out" if kind == "failing" else "unreachable"
    return WorkerFault(kind, f"{what} ({type(exc).__name__})")


def batch_results(
    url: str, batch: Sequence[ExecutionRequest], response: httpx.Response
) -> tuple[ExecutionResult, ...]:
    """The results in a batch answer; raises ``WorkerFault`` or ``SandboxCrashedError``."""
    status = response.status_code
    message = error_message(response.content) or f"HTTP {status}"
    if status == 200:
        try:
            return decode_results(response.content, batch)
        except ValueError as exc:
            raise WorkerFault("failing", f"malformed results ({type(exc).__name__})") from None
    if status in (400, 413, 422):
        raise SandboxCrashedError(f"sandbox worker {url} refused the batch: {message}")
    if status == 429:
        raise WorkerFault("busy", message, retry_after_s=_retry_after(response))
    if status in (401, 403):
        raise WorkerFault("gone", f"rejected the sandbox token ({status})")
    if status == 503:
        raise WorkerFault("gone", message)
    raise WorkerFault("failing", f"answered {status}: {message}")


def ready_slots(response: httpx.Response) -> int | str:
    """A ``/ready`` answer: the programs the worker runs at once, or why it is not ready."""
    status = response.status_code
    if status in (401, 403):
        return f"rejected the sandbox token ({status})"
    if status != 200:
        return f"not ready: {error_message(response.content) or f'HTTP {status}'}"
    try:
        workers = json.loads(response.content).get("workers")
    except (ValueError, AttributeError):
        workers = None
    if isinstance(workers, int) and not isinstance(workers, bool) and workers > 0:
        return workers
    return "not ready: HTTP 200 without the worker's capacity"


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("retry-after", "")
    try:
        return min(30.0, max(0.1, float(raw)))
    except ValueError:
        return 1.0
