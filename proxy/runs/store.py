"""The bounded store of finished S* run traces, served at ``GET /v1/sstar/runs/{id}``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping


class RunStore:
    """The traces of the most recent runs, by run id; the oldest is evicted past ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._traces: OrderedDict[str, Mapping[str, object]] = OrderedDict()

    def put(self, run_id: str, trace: Mapping[str, object]) -> None:
        self._traces[run_id] = trace
        self._traces.move_to_end(run_id)
        while len(self._traces) > self._capacity:
            self._traces.popitem(last=False)

    def get(self, run_id: str) -> Mapping[str, object] | None:
        return self._traces.get(run_id)

    def __len__(self) -> int:
        return len(self._traces)
