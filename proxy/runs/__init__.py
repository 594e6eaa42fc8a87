"""S* runs as the server keeps them: shared between identical requests, traces kept afterwards.

``keys.py`` says which requests are the same run; ``sharing.py`` starts runs, lets identical
requests join one in flight (and a resend join a finished one) and cancels runs nobody listens
to any more; ``store.py`` keeps the traces of recent runs for ``GET /v1/sstar/runs/{id}``.
"""

from proxy.runs.keys import caller_identity, run_key
from proxy.runs.sharing import Reuse, RunCoordinator, RunFactory, SharedRun, Subscription
from proxy.runs.store import RunStore

__all__ = [
    "Reuse",
    "RunCoordinator",
    "RunFactory",
    "RunStore",
    "SharedRun",
    "Subscription",
    "caller_identity",
    "run_key",
]
