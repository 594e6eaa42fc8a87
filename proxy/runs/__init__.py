"""S* runs as the server keeps them: shared between identical requests, traces kept afterwards.

``keys.py`` says which requests are the same run; ``sharing.py`` starts runs, lets identical
requests join one in flight (and a resend join a finished one) and cancels runs nobody listens
to any more; ``store.py`` keeps the traces of recent runs for ``GET /v1/sstar/runs/{id}``;
``links.py`` signs the expiring links that let a browser read one run's trace without the
client key.
"""

from proxy.runs.keys import caller_identity, run_key
from proxy.runs.links import Grant, LinkVerdict, SignedLink, TraceLinks
from proxy.runs.sharing import (
    Reuse,
    RunCoordinator,
    RunFactory,
    RunStarter,
    SharedRun,
    Subscription,
)
from proxy.runs.store import RunStore, StoredRun, TraceStore

__all__ = [
    "Grant",
    "LinkVerdict",
    "Reuse",
    "RunCoordinator",
    "RunFactory",
    "RunStarter",
    "RunStore",
    "SharedRun",
    "SignedLink",
    "StoredRun",
    "Subscription",
    "TraceLinks",
    "TraceStore",
    "caller_identity",
    "run_key",
]
