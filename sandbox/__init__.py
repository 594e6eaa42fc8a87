"""Secure execution of untrusted generated programs. Never imports ``proxy``.

The public API is re-exported here; ``__all__`` is sorted and tested.
"""

from sandbox.base import ExecutionRequest, ExecutionResult, Limits, Mode, RunResult, Sandbox, Status
from sandbox.bubblewrap import BubblewrapSandbox
from sandbox.compare import behaviour_key, judge, outputs_match, values_match
from sandbox.errors import SandboxCrashedError, SandboxError, SandboxUnavailableError
from sandbox.local import LocalSandbox
from sandbox.remote import RemoteSandbox

__all__ = [
    "BubblewrapSandbox",
    "ExecutionRequest",
    "ExecutionResult",
    "Limits",
    "LocalSandbox",
    "Mode",
    "RemoteSandbox",
    "RunResult",
    "Sandbox",
    "SandboxCrashedError",
    "SandboxError",
    "SandboxUnavailableError",
    "Status",
    "behaviour_key",
    "judge",
    "outputs_match",
    "values_match",
]
