"""``proxy.metrics`` and ``proxy.metered``: error classes, candidate states, executions, layout."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import httpx2  # the http library the openai SDK is built on
import openai
import pytest
from prometheus_client import generate_latest

from proxy.errors import UpstreamError
from proxy.metered import MeteredSandbox
from proxy.metrics import Metrics, candidate_state, error_class
from proxy.scaling.types import Candidate, Revision, TestOutcome
from proxy.upstream.litellm_client import NO_CHOICES
from proxy.upstream.litellm_errors import map_upstream_errors
from proxy.upstream.relay import INVALID_JSON, status_error, transport_error
from sandbox import ExecutionRequest, LocalSandbox
from tests.fakes import RefusingSandbox

ROOT = Path(__file__).parents[2]
REQUEST = httpx.Request("POST", "http://upstream.test/v1/chat/completions")


def _from_litellm(exc: Exception) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught, map_upstream_errors():
        raise exc
    return caught.value


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (status_error(429, b'{"error": {"message": "slow"}}', httpx.Headers()), "rate_limit"),
        (status_error(503, b"{}", httpx.Headers()), "status_5xx"),
        (status_error(401, b"{}", httpx.Headers()), "status_4xx"),
        (transport_error(httpx.ReadTimeout("slow", request=REQUEST)), "timeout"),
        (transport_error(httpx.ConnectError("refused", request=REQUEST)), "connection"),
        (transport_error(httpx.ReadError("reset", request=REQUEST)), "connection"),
        (UpstreamError(INVALID_JSON), "bad_response"),
        (UpstreamError(NO_CHOICES), "bad_response"),
    ],
)
def test_relayed_failures_have_their_class(error, expected):
    assert error_class(error) == expected


def test_litellm_failures_have_the_same_classes():
    request = httpx2.Request("POST", "http://upstream.test/v1/chat/completions")
    unreachable = _from_litellm(openai.APIConnectionError(request=request))
    timed_out = _from_litellm(openai.APITimeoutError(request=request))
    assert (error_class(unreachable), error_class(timed_out)) == ("connection", "timeout")


def _candidate(*passed: bool, best_round: int = 0, dropped: str | None = None) -> Candidate:
    tests = tuple(TestOutcome("1\n", "1", "OK" if p else "WA", "1", p) for p in passed)
    revisions = tuple(Revision(i, "print(1)", "msg", tests) for i in range(best_round + 1))
    return Candidate(0, revisions, best_round, dropped_reason=dropped)


def test_candidate_states():
    assert candidate_state(_candidate(True, True)) == "passed"
    assert candidate_state(_candidate(True, best_round=1)) == "fixed"
    assert candidate_state(_candidate(True, False)) == "failed"
    assert candidate_state(_candidate()) == "untested"
    assert candidate_state(_candidate(True, dropped="no code")) == "dropped"


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


async def test_every_real_execution_is_counted_by_status():
    metrics = Metrics()
    sandbox = MeteredSandbox(LocalSandbox(), metrics)
    try:
        request = ExecutionRequest(
            program="n = int(input())\nprint(10 // n)\n", inputs=("2\n", "0\n", "5\n")
        )
        result = await sandbox.run(request)
    finally:
        await sandbox.aclose()
    assert [str(run.status) for run in result.runs] == ["OK", "RUNTIME_ERROR", "OK"]
    assert _value(metrics, "sstar_sandbox_executions_total", status="OK") == 2
    assert _value(metrics, "sstar_sandbox_executions_total", status="RUNTIME_ERROR") == 1
    assert _value(metrics, "sstar_sandbox_execution_seconds_count") == 3


async def test_a_sandbox_that_cannot_run_counts_sandbox_errors():
    metrics = Metrics()
    with pytest.raises(Exception, match="executes nothing"):
        await MeteredSandbox(RefusingSandbox(), metrics).run(
            ExecutionRequest(program="print(1)", inputs=("", ""))
        )
    assert _value(metrics, "sstar_sandbox_executions_total", status="SANDBOX_ERROR") == 2


def test_runs_in_flight_are_read_when_scraped():
    metrics = Metrics(capacity=3)
    active = [0]
    metrics.watch_runs(lambda: active[0])
    active[0] = 2
    assert _value(metrics, "sstar_runs_in_flight") == 2
    assert _value(metrics, "sstar_runs_capacity") == 3


def test_a_fresh_registry_holds_only_the_proxys_metrics():
    text = generate_latest(Metrics().registry).decode()
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert all(name.startswith("sstar_") for name in names), names
    assert "python_gc_objects_collected" not in text  # the default registry's collectors


def _importers(module: str) -> list[str]:
    found = []
    for path in sorted((ROOT / "proxy").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == module or name.startswith(module + ".") for name in names):
                found.append(str(path.relative_to(ROOT)))
    return sorted(set(found))


def test_prometheus_is_imported_in_two_modules_only():
    assert _importers("prometheus_client") == ["proxy/api/metering.py", "proxy/metrics.py"]


def test_the_engine_knows_nothing_of_metrics():
    engine = [
        p for p in _importers("proxy.metrics") + _importers("proxy.overhead") if "scaling" in p
    ]
    assert engine == []
