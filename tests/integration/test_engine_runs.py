"""S* runs under stress: debugging from real feedback, budgets, deadlines, faults, cancellation.

The scripted upstream supplies only model text; every program runs in the real bubblewrap
sandbox, so feedback, outputs and verdicts are real.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from proxy.errors import ScalingBudgetExceededError, UpstreamError, UpstreamRateLimitError
from proxy.scaling.engine import ScalingEngine
from proxy.scaling.types import CodeTask, PublicTest
from proxy.upstream.base import Message, UpstreamRequest
from tests.fakes import ScriptedUpstream, one_call_params

pytestmark = pytest.mark.bwrap

PROBLEM = "Read two integers a and b from one line and print a + b."
BUGGY = "a, b = map(int, input().split())\nprint(a - b)\n"
FIXED = "a, b = map(int, input().split())\nprint(a + b)\n"
SLOW_FIXED = "import sys\na, b = map(int, sys.stdin.read().split())\nprint(b + a)\n"


def make_task(*, tests: bool = True) -> CodeTask:
    public = (PublicTest("2 3\n", "5"), PublicTest("10 4\n", "14")) if tests else ()
    return CodeTask(
        problem=PROBLEM,
        conversation=(Message("system", "Be brief."), Message("user", PROBLEM)),
        kind="stdin",
        model="coder",
        public_tests=public,
    )


def fenced(program: str) -> str:
    return f"```python\n{program}```"


async def test_debug_round_repairs_a_candidate_from_real_feedback(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [f"<think>easy</think>Subtract?\n{fenced(BUGGY)}"] * request.n
        if request.purpose == "debug":
            feedback = request.messages[-1].content
            # the sandbox's real output of the buggy program, not something we planted
            assert "Actual output:\n-1" in feedback
            assert "Actual output:\n6" in feedback
            assert "Expected output:\n5" in feedback
            assert "<think>" not in request.messages[-2].content
            return [f"Oops, it should add.\n{fenced(FIXED)}"]
        raise AssertionError(request.purpose)

    upstream = ScriptedUpstream(script)
    params = one_call_params(samples=1, rounds=2, exec_wall_time_s=1.0)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)

    [candidate] = result.candidates
    assert [r.passed for r in candidate.revisions] == [0, 2]
    assert candidate.best_round == 1
    assert result.program == FIXED.rstrip("\n")
    assert result.message == f"Subtract?\n{fenced(FIXED)}"
    assert [t.actual for t in candidate.revisions[0].tests] == ["-1\n", "6\n"]
    assert len(upstream.by_purpose("debug")) == 1  # repaired: no second round
    debug = upstream.by_purpose("debug")[0]
    assert [m.role for m in debug.messages] == ["system", "user", "assistant", "user"]


async def test_best_revision_is_kept_when_a_later_round_regresses(sandbox) -> None:
    half = "a, b = map(int, input().split())\nprint(5 if a == 2 else a * b)\n"

    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(BUGGY)]
        rounds = sum(m.role == "assistant" for m in request.messages)
        return [fenced(half if rounds == 1 else "print(0)\n")]

    upstream = ScriptedUpstream(script)
    params = one_call_params(
        samples=1, rounds=2, output="code", exec_wall_time_s=1.0, escalations=0
    )
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    [candidate] = result.candidates
    assert [r.passed for r in candidate.revisions] == [0, 1, 0]
    assert candidate.best_round == 1
    assert result.message == f"```python\n{half.rstrip()}\n```"


async def test_no_public_tests_skips_debugging(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(FIXED), fenced(SLOW_FIXED)][: request.n]
        if request.purpose == "synthesis":
            return ['```json\n["1 2\\n", "-5 5"]\n```']
        raise AssertionError(request.purpose)

    upstream = ScriptedUpstream(script)
    params = one_call_params(samples=2, exec_wall_time_s=1.0)
    result = await ScalingEngine(upstream, sandbox).run(make_task(tests=False), params)
    assert not upstream.by_purpose("debug")
    assert len(result.clusters) == 1  # same behaviour, no tournament needed
    assert result.synthesized_inputs == ("1 2\n", "-5 5\n")
    # within a cluster: most public passes (none here), then the fastest run
    assert result.selected == result.clusters[0].representative


async def test_shortfall_of_n_is_made_up_concurrently(sandbox) -> None:
    upstream = ScriptedUpstream(lambda r: [fenced(FIXED)] * r.n, max_choices=1, delay_s=0.05)
    params = one_call_params(samples=4, rounds=0, exec_wall_time_s=1.0)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    samples = upstream.by_purpose("sample")
    assert [r.n for r in samples] == [4, 1, 1, 1]
    assert len(result.candidates) == 4
    assert upstream.peak_in_flight >= 3
    assert result.usage == upstream.usage
    assert any("1 of 4" in d for d in result.degraded)


async def test_deadline_cuts_the_tournament_and_still_answers(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(FIXED), fenced(BUGGY), fenced(FIXED)][: request.n]
        if request.purpose == "synthesis":
            return ['```json\n["1 1\\n"]\n```']
        return ["Answer: A"]

    upstream = ScriptedUpstream(script, purpose_delays={"judge": 30.0})
    params = one_call_params(samples=3, rounds=0, deadline_s=2.0, exec_wall_time_s=1.0)
    started = time.monotonic()
    result = await ScalingEngine(upstream, sandbox).run(make_task(tests=False), params)
    assert time.monotonic() - started < 3.0
    assert result.selected == 0  # the largest cluster
    assert result.matches == ()
    assert any("tournament" in d for d in result.degraded)


async def test_inputs_that_never_come_still_leave_time_to_cluster_on_the_known_ones(
    sandbox,
) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(BUGGY), fenced(FIXED), fenced(SLOW_FIXED)][: request.n]
        return ['```json\n["1 1\\n"]\n```']

    upstream = ScriptedUpstream(script, purpose_delays={"synthesis": 30.0})
    params = one_call_params(
        samples=3, rounds=0, selection="majority", deadline_s=4.0, escalations=0
    )
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert "input synthesis not finished in time: clustered on the known inputs" in (
        result.degraded
    )
    assert not any("clustering cut short" in d for d in result.degraded), result.degraded
    assert any(r.startswith("1 behaviour cluster(s) on ") for r in result.reasons), result.reasons
    assert result.selected in (1, 2)


async def test_token_budget_stops_after_sampling_and_still_answers(sandbox) -> None:
    upstream = ScriptedUpstream(lambda r: [fenced(BUGGY), fenced(FIXED)][: r.n])
    params = one_call_params(samples=2, rounds=2, max_total_tokens=60, exec_wall_time_s=1.0)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert [r.purpose for r in upstream.requests] == ["sample"]
    assert result.selected == 1  # public tests still decide
    assert any("token budget" in d for d in result.degraded)


async def test_upstream_failures_degrade_selection(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(FIXED), fenced(BUGGY), fenced(BUGGY)][: request.n]
        raise UpstreamRateLimitError("slow down")

    upstream = ScriptedUpstream(script)
    params = one_call_params(samples=3, rounds=1, exec_wall_time_s=1.0)
    result = await ScalingEngine(upstream, sandbox).run(make_task(tests=False), params)
    assert result.selected == 1  # no inputs, no judge: the largest group of identical programs
    assert any("UpstreamRateLimitError" in d for d in result.degraded)


async def test_nothing_sampled_raises_the_upstream_error(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        raise UpstreamError("upstream down")

    with pytest.raises(UpstreamError, match="upstream down"):
        await ScalingEngine(ScriptedUpstream(script), sandbox).run(make_task(), one_call_params())


async def test_deadline_before_any_sample_raises_budget_exceeded(sandbox) -> None:
    upstream = ScriptedUpstream(lambda r: [fenced(FIXED)], delay_s=5.0)
    with pytest.raises(ScalingBudgetExceededError):
        await ScalingEngine(upstream, sandbox).run(make_task(), one_call_params(deadline_s=0.2))


async def test_answers_without_code_return_the_first_answer(sandbox) -> None:
    upstream = ScriptedUpstream(lambda r: ["<think>hmm</think>Could you clarify the format?"] * r.n)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), one_call_params(samples=2))
    assert result.program == ""
    assert result.message == "Could you clarify the format?"
    assert all(c.dropped_reason == "no code in the answer" for c in result.candidates)


async def test_cancellation_stops_upstream_calls(sandbox) -> None:
    upstream = ScriptedUpstream(lambda r: [fenced(FIXED)] * r.n, delay_s=10.0, max_choices=1)
    run = asyncio.create_task(
        ScalingEngine(upstream, sandbox).run(make_task(), one_call_params(samples=3))
    )
    for _ in range(500):
        if upstream.in_flight:
            break
        await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert upstream.in_flight == 0


async def test_debug_replies_without_code_or_failing_calls_keep_the_best_so_far(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(BUGGY), fenced(BUGGY.replace("a - b", "b - a"))][: request.n]
        if request.purpose == "debug":
            if "print(a - b)" in request.messages[-2].content:
                return ["I am not sure what is wrong."]
            raise UpstreamRateLimitError("busy")
        return ["[]"]

    upstream = ScriptedUpstream(script)
    params = one_call_params(samples=2, rounds=2, exec_wall_time_s=1.0, escalations=0)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert [len(c.revisions) for c in result.candidates] == [1, 1]
    assert len(upstream.by_purpose("debug")) == 2  # each stopped after its first attempt
    assert any("debugging: a call failed (UpstreamRateLimitError" in d for d in result.degraded)
    assert result.program  # still answers with the best it has


async def test_debugging_slower_than_planned_is_cut_at_the_plans_time(sandbox) -> None:
    def script(request: UpstreamRequest) -> list[str]:
        if request.purpose == "sample":
            return [fenced(BUGGY)]
        return [fenced(FIXED)]

    # sampling is instant, so the plan expects debugging to be; it takes 30 s instead
    upstream = ScriptedUpstream(script, purpose_delays={"debug": 30.0})
    params = one_call_params(samples=1, rounds=2, deadline_s=3.0, exec_wall_time_s=1.0)
    started = time.monotonic()
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert time.monotonic() - started < 3.0
    assert result.program == BUGGY.rstrip("\n")
    assert any("debugging cut short by the plan's time" in d for d in result.degraded)
    debug = next(t for t in result.timings if t.stage == "debug")
    assert debug.completed is False


async def test_cancellation_stops_sandbox_runs(sandbox) -> None:
    spin = "while True:\n    pass\n"
    upstream = ScriptedUpstream(lambda r: [fenced(spin)] * r.n)
    params = one_call_params(samples=1, rounds=0, exec_wall_time_s=20.0)
    run = asyncio.create_task(ScalingEngine(upstream, sandbox).run(make_task(), params))
    await asyncio.sleep(0.5)  # sampling is instant; the spinning program is now executing
    started = time.monotonic()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert time.monotonic() - started < 2.0
    # the sandbox is still usable afterwards
    after = await ScalingEngine(ScriptedUpstream(lambda r: [fenced(FIXED)]), sandbox).run(
        make_task(), one_call_params(samples=1, rounds=0)
    )
    assert after.candidates[0].best.passed == 2
