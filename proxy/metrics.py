"""The proxy's Prometheus metrics: one ``Metrics`` per app, in its own registry.

Every metric object lives here and is created by ``Metrics()`` (``create_app`` makes one and
keeps it on ``app.state.metrics``); importing this module creates nothing, and the process-wide
default registry is never used, so tests can build many apps side by side. ``GET /metrics``
(``proxy.api.metering``) renders :attr:`Metrics.registry`.

Who records what (each at the one place that knows it):

- the metrics middleware (``proxy.api.metering``): requests by route template, method and
  status; latency to the response's end; the proxy's overhead to its start (``proxy.overhead``);
- ``ChatService`` and ``ResponsesService``: the detector's verdict per request, and every
  fallback;
- ``SStarService``: runs by outcome, their duration and stages, samples, candidates, tokens by
  stage; runs in flight are read from the run coordinator at scrape time;
- ``proxy.metered.MeteredSandbox``: every sandboxed execution by status and duration;
- the retry loop (``proxy.upstream.retry``, an observer on the policy): every failed upstream
  attempt by class, for pass-through and S* sub-calls apart;
- :class:`_EmbeddedModels`: whether each embedded ``llama-server`` is up, read at scrape time;
- ``proxy.cluster.RedisLink``: whether the shared Redis answers, and its failed operations.

Label values come from fixed sets (route templates, rule ids, stages, statuses), never from
client input: the number of series stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from proxy import __version__
from proxy.errors import (
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from proxy.scaling.types import Candidate, ScalingResult
from sandbox import ExecutionResult

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
OVERHEAD_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
RUN_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600)
EXECUTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

UNMATCHED = "unmatched"
"""The route label of a request no route matched (its path is client input: never a label)."""


class ModelHealth(Protocol):
    """What the metrics read of an embedded model server (``LocalModelServer``)."""

    @property
    def model_name(self) -> str: ...

    @property
    def running(self) -> bool: ...

    @property
    def restarts(self) -> int: ...


def error_class(exc: UpstreamError) -> str:
    """A failed upstream attempt's class: ``rate_limit``, ``timeout``, ``status_4xx``,
    ``status_5xx``, ``connection`` (unreachable, reset, closed) or ``bad_response`` (an answer
    that is not JSON, or a 200 without choices)."""
    if isinstance(exc, UpstreamRateLimitError):
        return "rate_limit"
    if isinstance(exc, UpstreamTimeoutError):
        return "timeout"
    if isinstance(exc, UpstreamStatusError):
        return "status_5xx" if exc.status_code >= 500 else "status_4xx"
    # NOTE: the relay and the litellm mapping word every transport failure this way.
    if exc.message.startswith(("upstream unreachable", "upstream connection failed")):
        return "connection"
    return "bad_response"


def candidate_state(candidate: Candidate) -> str:
    """``passed`` (as sampled), ``fixed`` (by debugging), ``failed``, ``untested`` (no public
    tests) or ``dropped`` (no program in the answer)."""
    if candidate.dropped_reason is not None:
        return "dropped"
    if not candidate.best.tests:
        return "untested"
    if candidate.passes_public:
        return "fixed" if candidate.best_round > 0 else "passed"
    return "failed"


class _EmbeddedModels(Collector):
    """``sstar_embedded_model_up`` and ``..._restarts_total``, read when scraped."""

    def __init__(self, models: Sequence[ModelHealth]) -> None:
        self._models = tuple(models)

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "sstar_embedded_model_up",
            "1 while the embedded model's llama-server child runs, 0 when it is down.",
            labels=["model"],
        )
        restarts = CounterMetricFamily(
            "sstar_embedded_model_restarts",
            "Times the supervisor restarted the embedded model's llama-server.",
            labels=["model"],
        )
        for model in self._models:
            up.add_metric([model.model_name], 1.0 if model.running else 0.0)
            restarts.add_metric([model.model_name], float(model.restarts))
        return [up, restarts]


class Metrics:
    """The metric objects of one app and the methods that record them (module docstring)."""

    def __init__(
        self, *, capacity: int = 0, models: Sequence[ModelHealth] = (), redis: bool = False
    ) -> None:
        """``redis``: replicas share state through Redis (``sstar_redis_up`` is exported)."""
        self.registry = CollectorRegistry()
        self._http(self.registry)
        self._chat(self.registry)
        self._runs(self.registry, capacity)
        self._outside(self.registry)
        self._redis(self.registry, enabled=redis)
        info = Gauge("sstar_proxy_info", "The version.", ["version"], registry=self.registry)
        info.labels(__version__).set(1)
        self.registry.register(_EmbeddedModels(models))

    def _http(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "sstar_http_requests",
            "HTTP requests by route template, method and status (499: the client left).",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "sstar_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            ["route", "sstar"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.overhead_seconds = Histogram(
            "sstar_proxy_overhead_seconds",
            "The proxy's own time to a response's status line: its time minus the time an "
            "upstream call or a sandbox run was in flight (x-sstar-overhead-ms).",
            ["route", "sstar"],
            buckets=OVERHEAD_BUCKETS,
            registry=registry,
        )

    def _chat(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter(
            "sstar_chat_decisions",
            "Chat and Responses requests by the detector's rule id and whether S* was chosen.",
            ["rule", "applied"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "sstar_fallbacks",
            "Chat requests S* was chosen for but could not answer, by reason and by what the "
            "client got instead (passthrough or error).",
            ["reason", "action"],
            registry=registry,
        )

    def _runs(self, registry: CollectorRegistry, capacity: int) -> None:
        self.runs = Counter(
            "sstar_runs",
            "S* runs by outcome: complete, early_stop, degraded, failed, deadline, cancelled.",
            ["outcome"],
            registry=registry,
        )
        self.run_seconds = Histogram(
            "sstar_run_duration_seconds",
            "Wall time of S* runs that answered.",
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "sstar_stage_duration_seconds",
            "Wall time of the stages of S* runs (sample, debug, select).",
            ["stage"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.samples = Counter("sstar_samples", "Programs sampled by S* runs.", registry=registry)
        self.candidates = Counter(
            "sstar_candidates",
            "S* candidates by their best revision's state: passed (as sampled), fixed (by "
            "debugging), failed, untested (no public tests), dropped (no program).",
            ["state"],
            registry=registry,
        )
        self.tokens = Counter(
            "sstar_tokens",
            "Tokens spent by S* runs, by stage (sample, debug, synthesis, distinguish, judge) "
            "and kind (prompt, completion).",
            ["stage", "kind"],
            registry=registry,
        )
        self.runs_in_flight = Gauge("sstar_runs_in_flight", "S* runs in flight.", registry=registry)
        self.runs_capacity = Gauge(
            "sstar_runs_capacity",
            "S* runs allowed in flight at once (SSTAR_MAX_CONCURRENT_RUNS).",
            registry=registry,
        )
        self.runs_capacity.set(capacity)

    def _outside(self, registry: CollectorRegistry) -> None:
        self.executions = Counter(
            "sstar_sandbox_executions",
            "Programs run on one input in the sandbox, by status (OK, RUNTIME_ERROR, TIMEOUT, "
            "MEMORY_LIMIT, OUTPUT_LIMIT, SANDBOX_ERROR).",
            ["status"],
            registry=registry,
        )
        self.execution_seconds = Histogram(
            "sstar_sandbox_execution_seconds",
            "Time of one sandboxed execution (one program on one input).",
            buckets=EXECUTION_BUCKETS,
            registry=registry,
        )
        self.upstream_errors = Counter(
            "sstar_upstream_errors",
            "Failed upstream attempts (retried or not) by caller (passthrough, sstar) and class "
            "(rate_limit, timeout, status_4xx, status_5xx, connection, bad_response).",
            ["caller", "class"],
            registry=registry,
        )

    def _redis(self, registry: CollectorRegistry, *, enabled: bool) -> None:
        self.redis_up: Gauge | None = None
        if enabled:
            self.redis_up = Gauge(
                "sstar_redis_up",
                "1 while the shared Redis (SSTAR_REDIS_URL) answers, 0 while this replica falls "
                "back to its own state.",
                registry=registry,
            )
            self.redis_up.set(1)
        self.redis_errors = Counter(
            "sstar_redis_errors",
            "Redis operations that failed (or were skipped while Redis was down) by operation.",
            ["operation"],
            registry=registry,
        )

    # -- recording --------------------------------------------------------------------------

    def request_done(
        self,
        *,
        route: str,
        method: str,
        status: int,
        sstar: str,
        duration_s: float,
        overhead_s: float | None,
    ) -> None:
        """One HTTP request; ``overhead_s`` is ``None`` when no response was started."""
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route, sstar).observe(duration_s)
        if overhead_s is not None:
            self.overhead_seconds.labels(route, sstar).observe(overhead_s)

    def decided(self, rule: str, *, applied: bool) -> None:
        self.decisions.labels(rule, "true" if applied else "false").inc()

    def fell_back(self, reason: str, *, action: str) -> None:
        self.fallbacks.labels(reason, action).inc()

    def watch_runs(self, active: Callable[[], int]) -> None:
        """Read the number of runs in flight from ``active`` whenever scraped."""
        self.runs_in_flight.set_function(lambda: float(active()))

    def run_answered(self, result: ScalingResult, *, duration_s: float) -> None:
        """A run that produced an answer: its outcome, time, stages, candidates and tokens."""
        if result.degraded:
            outcome = "degraded"
        elif result.early_stop is not None:
            outcome = "early_stop"
        else:
            outcome = "complete"
        self.runs.labels(outcome).inc()
        self.run_seconds.observe(duration_s)
        for timing in result.timings:
            self.stage_seconds.labels(timing.stage).observe(timing.duration_ms / 1000)
        self.samples.inc(len(result.candidates))
        for candidate in result.candidates:
            self.candidates.labels(candidate_state(candidate)).inc()
        for purpose, usage in result.usage_by_purpose:
            self.tokens.labels(purpose, "prompt").inc(usage.prompt_tokens)
            self.tokens.labels(purpose, "completion").inc(usage.completion_tokens)

    def run_ended_without_answer(self, outcome: str) -> None:
        """A run that failed (``failed``), ran out of time (``deadline``) or was cancelled."""
        self.runs.labels(outcome).inc()

    def executed(self, result: ExecutionResult) -> None:
        for run in result.runs:
            self.executions.labels(str(run.status)).inc()
            self.execution_seconds.observe(run.time_s)

    def sandbox_failed(self, inputs: int) -> None:
        """The sandbox could not run a batch (infrastructure): each input is a SANDBOX_ERROR."""
        self.executions.labels("SANDBOX_ERROR").inc(inputs)

    def redis_changed(self, *, up: bool) -> None:
        """The shared Redis started or stopped answering (``proxy.cluster.RedisLink``)."""
        if self.redis_up is not None:
            self.redis_up.set(1 if up else 0)

    def redis_failed(self, operation: str) -> None:
        self.redis_errors.labels(operation).inc()

    def upstream_observer(self, caller: str) -> Callable[[UpstreamError], None]:
        """What the retry loop calls on every failed attempt made for ``caller``."""
        counter = self.upstream_errors

        def observe(exc: UpstreamError) -> None:
            counter.labels(caller, error_class(exc)).inc()

        return observe
