"""What a benchmark may use of the engine to replay a recorded run without sampling again.

Benchmarks (``bench/``) read run traces (``trace.py``) and ask "what would selection have picked
with other inputs, another representative rule, another judge?", or "what would the planner
have estimated?" (the speed model and the sampling estimate). They use only this module,
``trace``, ``types`` and ``ScalingEngine``, never the stages' internals, so the engine can be
rearranged without breaking them (``tests/unit/test_layout.py`` checks it). Everything here is
the engine's own code, so a replay ranks, clusters and judges exactly as a run does.
"""

from __future__ import annotations

from proxy.errors import SandboxUnavailableError
from proxy.scaling.budget import RunBudget
from proxy.scaling.clustering import Behaviour, cluster_behaviours, rank_clusters
from proxy.scaling.context import RunContext
from proxy.scaling.execution import Executor
from proxy.scaling.mutation import clustering_inputs
from proxy.scaling.planning import CHARS_PER_TOKEN, sampling_s, starter_tokens
from proxy.scaling.programs import normalise_program
from proxy.scaling.speed import PROFILES, Speed, SpeedTracker
from proxy.scaling.tournament import first_wins, judge
from proxy.scaling.trace import clusters_from_trace, task_from_trace
from proxy.scaling.types import CodeTask, ScalingParams
from proxy.upstream.base import Upstream
from sandbox import ExecutionRequest, ExecutionResult

__all__ = [
    "CHARS_PER_TOKEN",
    "PROFILES",
    "Behaviour",
    "Speed",
    "SpeedTracker",
    "cluster_behaviours",
    "clustering_inputs",
    "clusters_from_trace",
    "first_wins",
    "judge_pair",
    "normalise_program",
    "rank_clusters",
    "sampling_s",
    "starter_tokens",
    "task_from_trace",
]


class _NoExecution:
    """A judge replay executes nothing; a sandbox that says so if it is ever asked."""

    async def run(self, request: ExecutionRequest) -> ExecutionResult:  # noqa: ARG002
        raise SandboxUnavailableError("a judge replay does not execute programs")

    async def aclose(self) -> None:
        return None


async def judge_pair(
    upstream: Upstream,
    *,
    task: CodeTask,
    params: ScalingParams,
    programs: tuple[str, str],
    inputs: tuple[str, ...],
    outputs: tuple[tuple[str, ...], tuple[str, ...]],
) -> float | None:
    """P(program A is correct) by one judge call, asked exactly as the tournament asks it
    (``params.judge`` style, ``params.aux_model``), within ``params.deadline_s``."""
    budget = RunBudget(params)
    executor = Executor(_NoExecution(), budget, task=task, params=params)
    ctx = RunContext(budget, upstream, executor, task, params)
    return await judge(ctx, programs, inputs=inputs, outputs=outputs)
