"""S* that spends the budget well: a plan that fits the upstream, debugging that finishes, an
early stop when the answer is clear, and escalation when nothing passes.

The scripted upstream supplies model text (and, for the speed tests, a delay proportional to the
tokens it returns); every program runs in the real bubblewrap sandbox.
"""

from __future__ import annotations

import time

import pytest

from proxy.scaling.engine import ScalingEngine
from proxy.scaling.observer import PickRecorder
from proxy.scaling.speed import UpstreamProfile
from proxy.scaling.types import CodeTask, PublicTest, ScalingParams
from proxy.upstream.base import Message, UpstreamRequest
from tests.fakes import ScriptedUpstream, one_call_params, tokens

pytestmark = pytest.mark.bwrap

PROBLEM = "Read two integers a and b from one line and print a + b."
FIXED = "a, b = map(int, input().split())\nprint(a + b)\n"
HALF = "a, b = map(int, input().split())\nprint(5 if a == 2 else a - b)\n"  # passes test 1 only
BUGGY = "a, b = map(int, input().split())\nprint(a - b)\n"


def make_task() -> CodeTask:
    return CodeTask(
        problem=PROBLEM,
        conversation=(Message("user", PROBLEM),),
        kind="stdin",
        model="coder",
        public_tests=(PublicTest("2 3\n", "5"), PublicTest("10 4\n", "14")),
    )


def fenced(program: str, note: str = "") -> str:
    return f"```python\n{program}{note}```"


async def test_an_easy_task_stops_early_without_debugging_or_a_tournament(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(FIXED, f"# {i}\n") for i in range(request.n)]
        if request.purpose == "synthesis":
            return ['```json\n["1 1\\n", "-4 9\\n", "0 0\\n"]\n```']
        raise AssertionError(f"no {request.purpose} call when the answer is clear")

    upstream = ScriptedUpstream(script)
    recorder = PickRecorder()
    result = await ScalingEngine(upstream, sandbox).run(
        make_task(), ScalingParams(samples=4, rounds=2), observer=recorder
    )
    assert result.early_stop is not None
    assert result.early_stop.startswith("early stop:")
    assert "4 of 4 samples passing them behave alike on 3 input(s)" in result.early_stop
    assert result.selected == 0
    assert result.program.startswith(FIXED.rstrip("\n"))
    assert result.matches == ()
    assert len(result.clusters) == 1
    assert {p.selection: p.candidate for p in recorder.picks} == {
        "first": 0, "public": 0, "majority": 0, "adaptive": 0,
    }  # fmt: skip
    assert all(t.completed for t in result.timings)


async def test_a_divided_pool_is_not_an_early_stop(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(FIXED)] + [fenced(BUGGY)] * (request.n - 1)
        if request.purpose == "debug":
            return [fenced(BUGGY, "# still\n")]
        return ["[]"]

    upstream = ScriptedUpstream(script)
    params = one_call_params(samples=3, rounds=1, escalations=0)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert result.early_stop is None  # the first sample passes, but most samples do not
    assert len(upstream.by_purpose("debug")) == 1  # two identical failing samples: one program


async def test_a_hard_task_escalates_with_another_batch(sandbox) -> None:
    batches = 0

    def script(request: UpstreamRequest) -> list[str]:
        nonlocal batches
        if request.purpose == "sample":
            batches += request.temperature != 0  # the greedy call belongs to the first batch
            good = batches > 1
            return [fenced(FIXED if good else BUGGY, f"# {batches}\n")] * request.n
        if request.purpose == "debug":
            return [fenced(BUGGY, "# no luck\n")]
        return ["[]"]

    upstream = ScriptedUpstream(script)
    params = ScalingParams(samples=3, rounds=1, selection="majority", seed=1)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert result.escalations == 1
    assert [c.index for c in result.candidates] == [0, 1, 2, 3, 4, 5]
    assert result.program.startswith(FIXED.rstrip("\n"))
    assert result.passed_public == 3
    assert len(result.plans) == 2  # the run's plan and the escalation's
    seeds = [r.seed for r in upstream.by_purpose("sample") if r.temperature != 0]
    assert len(set(seeds)) == len(seeds)


async def test_debugging_takes_distinct_programs_most_promising_first(sandbox) -> None:
    order: list[str] = []

    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            pool = [fenced(BUGGY), fenced(HALF), fenced(HALF), fenced(FIXED)]
            return pool[: request.n]
        if request.purpose == "debug":
            shown = request.messages[-2].content
            order.append("HALF" if "5 if a == 2" in shown else "BUGGY")
            feedback = request.messages[-1].content
            assert "Test 1" not in feedback or "print(a - b)" in shown  # only failed tests
            return [fenced(FIXED, "# fixed\n")] if "5 if" in shown else [fenced(BUGGY, "# x\n")]
        return ["[]"]

    upstream = ScriptedUpstream(script, purpose_delays={"debug": 0.05})
    profile = UpstreamProfile("llama_cpp", 1e6, 50.0, 1.0, debug_concurrency=1)
    params = one_call_params(samples=4, rounds=2, selection="majority", escalations=0)
    result = await ScalingEngine(upstream, sandbox, profile=profile).run(make_task(), params)
    assert order == ["HALF", "BUGGY", "BUGGY"]  # HALF fixed in one round; BUGGY tried twice
    half = [c for c in result.candidates if c.index in (1, 2)]
    assert all(c.passes_public and c.best_round == 1 for c in half)  # the copy shares the fix
    assert half[0].revisions[1] == half[1].revisions[1]
    assert upstream.peak_in_flight == 1


def _timed(tps: float):
    """A script whose every call takes its reply's tokens / ``tps`` seconds (n choices decode
    together), and the profile that says so."""

    def script(request: UpstreamRequest) -> list[str]:
        padding = "# " + "x" * 390 + "\n"  # about 100 tokens a sample
        if request.purpose == "sample":
            return [fenced(FIXED if i % 2 else BUGGY, padding) for i in range(request.n)]
        if request.purpose == "debug":
            return [fenced(FIXED, padding)]
        return ['```json\n["1 1\\n"]\n```']

    def delay(request: UpstreamRequest) -> float:
        return max(tokens(text) for text in script(request)) / tps

    profile = UpstreamProfile("llama_cpp", tps, 1e9, 1.0, debug_concurrency=2)
    return script, delay, profile


@pytest.mark.parametrize(("tps", "full"), [(5000.0, True), (150.0, False)])
async def test_the_plan_fits_the_upstream_and_every_stage_finishes(sandbox, tps, full) -> None:
    script, delay, profile = _timed(tps)
    upstream = ScriptedUpstream(script, delay_by=delay)
    params = ScalingParams(samples=8, rounds=2, selection="majority", deadline_s=8.0)
    started = time.monotonic()
    result = await ScalingEngine(upstream, sandbox, profile=profile).run(make_task(), params)
    assert time.monotonic() - started < 8.0
    assert (result.plan == "N=8 R=2") is full, result.plans
    assert all(t.completed for t in result.timings), result.plans
    assert not any("cut short" in d for d in result.degraded)
    if not full:
        assert result.plans[0].startswith(f"{result.plan}: instead of N=8 R=2: ")


async def test_agreeing_on_the_public_tests_alone_is_not_an_early_stop(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(FIXED, f"# {i}\n") for i in range(request.n)]
        return ["I cannot think of any input."]  # synthesis brings nothing beyond the examples

    result = await ScalingEngine(ScriptedUpstream(script), sandbox).run(
        make_task(), one_call_params(samples=3, rounds=1, selection="majority")
    )
    assert result.early_stop is None  # programs that pass the examples agree on them anyway
    assert result.reasons[-1] == "nothing to choose"  # one distinct program: selection's answer


async def test_an_escalation_that_brings_nothing_in_time_leaves_selection_its_time(
    sandbox,
) -> None:
    """The first batch is waited for until a sample is in; a later batch only until its
    planned time: the run already has candidates to select from."""
    sample_calls = 0

    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(BUGGY, f"# {request.seed}\n")]
        if request.purpose == "debug":
            return [fenced(BUGGY, "# no luck\n")]
        return ['```json\n["1 1\\n", "7 0\\n"]\n```']

    def delay(request: UpstreamRequest) -> float:
        nonlocal sample_calls
        if request.purpose != "sample":
            return 0.0
        sample_calls += 1
        return 30.0 if sample_calls > 3 else 0.0  # the escalation's batch hangs

    upstream = ScriptedUpstream(script, delay_by=delay)
    profile = UpstreamProfile("llama_cpp", 5000.0, 1e9, 1.0, debug_concurrency=2)
    params = ScalingParams(
        samples=3, rounds=1, selection="majority", deadline_s=8.0, one_sample_per_call=True
    )
    started = time.monotonic()
    result = await ScalingEngine(upstream, sandbox, profile=profile).run(make_task(), params)
    assert time.monotonic() - started < 7.0  # not held to the deadline by the hanging batch
    assert result.escalations == 1
    assert "sampling stopped at its planned time with 0 of 3 samples finished" in result.degraded
    assert len(result.candidates) == 3
    assert all(t.completed for t in result.timings if t.stage == "select"), result.degraded


async def test_a_slow_sample_is_waited_for_while_the_rest_of_the_plan_still_fits(
    sandbox,
) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(FIXED, f"# {request.seed}\n")]
        return ['```json\n["1 1\\n", "7 0\\n"]\n```']

    def delay(request: UpstreamRequest) -> float:
        # the greedy sample takes 1.5 s where the plan expects milliseconds
        return 1.5 if request.purpose == "sample" and request.temperature == 0 else 0.0

    upstream = ScriptedUpstream(script, delay_by=delay)
    profile = UpstreamProfile("llama_cpp", 5000.0, 1e9, 1.0, debug_concurrency=2)
    params = ScalingParams(
        samples=3, rounds=1, selection="majority", deadline_s=8.0, one_sample_per_call=True
    )
    result = await ScalingEngine(upstream, sandbox, profile=profile).run(make_task(), params)
    assert len(result.candidates) == 3
    assert not any(d.startswith("sampling stopped") for d in result.degraded), result.degraded
    assert all(t.completed for t in result.timings), result.degraded


async def test_failing_programs_the_time_does_not_reach_are_planned_away_not_cut(
    sandbox,
) -> None:
    """Twelve distinct failing programs, one debugged at a time: the debug stage's time reaches
    some of them. Those it reaches get their round in full; the rest are left (most promising
    first, said in the plans), and the stage still finished what it started."""
    padding = "# " + "x" * 390 + "\n"  # about 100 tokens: a call takes 100 / 300 s

    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(f"a, b = map(int, input().split())\nprint(a * b + {i}00)\n", padding)
                    for i in range(1, request.n + 1)]  # fmt: skip
        if request.purpose == "debug":
            return [fenced(BUGGY, padding)]
        return ["[]"]

    def delay(request: UpstreamRequest) -> float:
        return max(tokens(text) for text in script(request)) / 300.0

    upstream = ScriptedUpstream(script, delay_by=delay)
    profile = UpstreamProfile("llama_cpp", 300.0, 1e9, 1.0, debug_concurrency=1)
    params = one_call_params(
        samples=12, rounds=1, selection="majority", escalations=0, deadline_s=5.0
    )
    result = await ScalingEngine(upstream, sandbox, profile=profile).run(make_task(), params)
    debugged = len(upstream.by_purpose("debug"))
    assert 1 <= debugged < 12, result.plans
    assert f"debugging: {debugged} of 12 failing programs (most promising first) fit the time" in (
        result.plans
    )
    assert all(t.completed for t in result.timings), (result.degraded, result.plans)
    assert sum(len(c.revisions) == 2 for c in result.candidates) == debugged
