"""State that replicas share through Redis (``SSTAR_REDIS_URL``), so that they act as one proxy.

Unset, nothing here runs: one process keeps its runs, traces and capacity in memory
(``proxy.runs``). Set, every replica pointing at the same Redis shares them. ``link.py`` owns the
connection and the one rule every shared operation follows: Redis is an accelerator of
agreement, never a dependency of an answer. An operation that fails (or is skipped while Redis is
known down) returns its fallback, and the caller carries on with this replica's own state, with
a warning in the log and ``sstar_redis_up`` at 0 until Redis answers again.

``traces.py``: finished traces, readable on every replica by their owner (``RedisTraceStore``).
``runs.py``: runs in flight shared across replicas (a lease per run key, a stream per run,
takeover, the global capacity limit), each race decided by one atomic script of ``scripts.py``;
``codec.py`` carries a run's progress and result between replicas as JSON.
"""

from proxy.cluster.link import RedisLink
from proxy.cluster.runs import ClusterCoordinator

__all__ = ["ClusterCoordinator", "RedisLink"]
