"""S* selection end to end: scripted model text, real bubblewrap execution.

The task: count the integers in 1..n divisible by 3 or 5. The public tests (n = 7, 11) miss every
edge case. Five samples: one correct, an off-by-one (twice, reformatted, so it is the largest
cluster and majority vote picks it), one that crashes on n = 0, one that loops forever on
multiples of 15. Only execution tells them apart; the scripted judge reads the *actual* outputs
in its prompt and compares them with the problem's arithmetic, like a careful model would.
"""

from __future__ import annotations

import math
import re

import pytest

from proxy.scaling.engine import ScalingEngine
from proxy.scaling.observer import PickRecorder
from proxy.scaling.types import CodeTask
from proxy.upstream.base import Choice, UpstreamRequest
from tests.fakes import ScriptedUpstream, function_task, one_call_params

pytestmark = pytest.mark.bwrap

PROBLEM = """Write a function count_multiples(n) that returns how many integers in 1..n are
divisible by 3 or by 5 (0 <= n <= 10**9).

>>> count_multiples(7)
3
>>> count_multiples(11)
5
"""

CORRECT = "def count_multiples(n):\n    return n // 3 + n // 5 - n // 15\n"
OFF_BY_ONE = "def count_multiples(n):\n    m = n - 1\n    return m // 3 + m // 5 - m // 15\n"
OFF_BY_ONE_AGAIN = "def count_multiples(n):\n    m = n-1\n    return m//3 + m//5 - m//15\n"
CRASHES = (
    "def count_multiples(n):\n"
    "    hits = {i: i % 3 == 0 or i % 5 == 0 for i in range(1, n + 1)}\n"
    "    return sum(hits.values()) + 0 * hits[n]\n"
)
LOOPS = (
    "def count_multiples(n):\n"
    "    count, i = 0, 1\n"
    "    while i <= n:\n"
    "        count += i % 3 == 0 or i % 5 == 0\n"
    "        i += 1 if i % 15 else 0\n"
    "    return count\n"
)
SAMPLES = [CORRECT, OFF_BY_ONE, OFF_BY_ONE_AGAIN, CRASHES, LOOPS]
_JUDGE_ITEM = re.compile(
    r"Input \d+:\n\[(-?\d+)\]\nOutput of program A:\n(.*?)\nOutput of program B:\n(.*?)(?:\n\n|$)",
    re.S,
)


def answer(program: str) -> str:
    return f"Here is my solution.\n\n```python\n{program}```\n\nIt runs in O(1)."


def oracle_judge(request: UpstreamRequest, *, biased: bool = False) -> list[str]:
    """Answers from the real outputs shown: the program matching the arithmetic wins."""
    prompt = request.messages[-1].content
    score = {"A": 0, "B": 0}
    for given, out_a, out_b in _JUDGE_ITEM.findall(prompt):
        n = int(given)
        truth = str(n // 3 + n // 5 - n // 15)
        score["A"] += out_a.strip() == truth
        score["B"] += out_b.strip() == truth
    if biased:
        return ["Both look plausible.\nAnswer: A"]
    best = "A" if score["A"] >= score["B"] else "B"
    return [f"<think>checking the outputs</think>Program {best} matches.\nAnswer: {best}"]


def script(request: UpstreamRequest, *, biased: bool = False) -> list[str]:
    if request.purpose == "sample":
        return [answer(p) for p in SAMPLES][: request.n]
    if request.purpose == "distinguish":
        return ["Inputs that separate them:\n```json\n[[15], [0], [30]]\n```"]
    if request.purpose == "synthesis":
        return ['```json\n[[0], [14], [15], [100], "bad", [1, 2]]\n```']
    if request.purpose == "judge":
        return oracle_judge(request, biased=biased)
    raise AssertionError(f"unexpected call: {request.purpose}")


def make_task() -> CodeTask:
    task = function_task(PROBLEM, "count_multiples", ("n",))
    assert len(task.public_tests) == 2
    return task


PARAMS = one_call_params(samples=5, rounds=2, exec_wall_time_s=0.5, seed=7)


async def test_tournament_picks_the_correct_program_over_the_majority(sandbox) -> None:
    upstream = ScriptedUpstream(script)
    events: list[str] = []
    result = await ScalingEngine(upstream, sandbox).run(
        make_task(), PARAMS, on_progress=lambda e: events.append(e.stage)
    )

    assert result.selected == 0
    assert result.program == CORRECT.rstrip("\n")
    assert result.message.startswith("Here is my solution.\n\n```python\ndef count_multiples")
    assert result.passed_public == 5  # every sample passes the weak public tests
    assert not any(r.purpose == "debug" for r in upstream.requests)
    # four behaviours: the two off-by-one texts merged into one cluster of two
    assert sorted(len(c.members) for c in result.clusters) == [1, 1, 1, 2]
    keys = {k for c in result.clusters for k in c.signature}
    assert {"TIMEOUT", "RUNTIME_ERROR"} <= keys
    # validation dropped the string and the two-argument input
    assert result.synthesized_inputs == ("[0]", "[14]", "[15]", "[100]")
    winner = next(c for c in result.clusters if 0 in c.members)
    assert all(
        m.winner == winner.id for m in result.matches if winner.id in (m.cluster_a, m.cluster_b)
    )
    # the judge saw real outputs, including the failures only execution can show
    judge_prompts = [r.messages[-1].content for r in upstream.by_purpose("judge")]
    assert any("TIMEOUT" in p for p in judge_prompts)
    assert any("KeyError" in p for p in judge_prompts)
    assert len(judge_prompts) == 2 * sum(m.verdicts != ("same", "same") for m in result.matches)
    assert all(r.model == "coder" for r in upstream.requests)
    assert result.usage == upstream.usage
    assert result.upstream_calls == len(upstream.requests)
    assert [t.stage for t in result.timings] == ["sample", "debug", "select"]
    assert sum(t.upstream_calls for t in result.timings) == result.upstream_calls
    assert events[:2] == ["plan", "sample"]
    assert events[-1] == "select"
    assert result.plan == "N=5 R=2 tournament"  # nothing measured yet: the plan is as asked


async def test_majority_mode_follows_the_largest_cluster(sandbox) -> None:
    upstream = ScriptedUpstream(script)
    params = one_call_params(samples=5, selection="majority", exec_wall_time_s=0.5)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert result.selected == 1
    assert result.matches == ()
    assert not upstream.by_purpose("judge")


async def test_inconsistent_judge_is_a_tie(sandbox) -> None:
    upstream = ScriptedUpstream(lambda r: script(r, biased=True))
    params = one_call_params(samples=5, exec_wall_time_s=0.5, aux_model="judge-model")
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert result.matches
    assert all(m.winner is None for m in result.matches)
    assert all(m.verdicts[0] != m.verdicts[1] for m in result.matches)
    # every tie: the largest cluster (the off-by-one pair) wins on size
    assert result.selected == 1
    aux = [r for r in upstream.requests if r.purpose in ("synthesis", "judge")]
    assert aux
    assert all(r.model == "judge-model" for r in aux)


@pytest.mark.parametrize("mode", ["public", "first", "judge"])
async def test_cheap_modes_answer_without_the_tournament(sandbox, mode) -> None:
    def code_judge(request: UpstreamRequest) -> list[str]:
        if request.purpose == "judge":
            return ["Candidate 2 handles n = 0.\nAnswer: 2"]
        return script(request)

    upstream = ScriptedUpstream(code_judge)
    params = one_call_params(samples=5, selection=mode, exec_wall_time_s=0.5)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    assert result.matches == ()
    assert not upstream.by_purpose("synthesis")
    # judge mode lists distinct programs by cluster size: 1 = off-by-one pair, 2 = correct
    assert result.selected == {"public": 0, "first": 0, "judge": 0}[mode]


async def test_an_observer_learns_what_each_cheaper_mode_would_pick(sandbox) -> None:
    upstream = ScriptedUpstream(script)
    recorder = PickRecorder()
    adaptive = await ScalingEngine(upstream, sandbox).run(make_task(), PARAMS, observer=recorder)

    picks = recorder.picks
    assert [p.selection for p in picks] == ["first", "public", "majority", "adaptive"]
    picked = {p.selection: p.candidate for p in picks}
    # the tournament overrules the majority (the off-by-one pair) with the correct program
    assert picked == {"first": 0, "public": 0, "majority": 1, "adaptive": 0}
    assert picked["adaptive"] == adaptive.selected
    elapsed = [p.elapsed_ms for p in picks]
    assert elapsed == sorted(elapsed)
    spent = upstream.usage_by_purpose
    assert set(spent) == {"sample", "synthesis", "distinguish", "judge"}  # no debug call needed
    assert dict(adaptive.usage_by_purpose) == spent
    assert adaptive.usage == upstream.usage


@pytest.mark.parametrize("mode", ["majority", "public", "first"])
async def test_a_pick_matches_the_run_of_its_own_mode(sandbox, mode) -> None:
    watched, own_picks = PickRecorder(), PickRecorder()
    await ScalingEngine(ScriptedUpstream(script), sandbox).run(
        make_task(), PARAMS, observer=watched
    )
    params = one_call_params(samples=5, rounds=2, exec_wall_time_s=0.5, seed=7, selection=mode)
    own = await ScalingEngine(ScriptedUpstream(script), sandbox).run(
        make_task(), params, observer=own_picks
    )
    assert own_picks.picks[-1].selection == mode
    assert own_picks.picks[-1].candidate == own.selected
    assert {p.selection: p.candidate for p in watched.picks}[mode] == own.selected


def position_biased_judge(request: UpstreamRequest) -> list[Choice]:
    """Always answers "A" (like the embedded 0.5B model), but surer when A's outputs are right."""
    score = {"A": 0, "B": 0}
    for given, out_a, out_b in _JUDGE_ITEM.findall(request.messages[-1].content):
        n = int(given)
        truth = str(n // 3 + n // 5 - n // 15)
        score["A"] += out_a.strip() == truth
        score["B"] += out_b.strip() == truth
    p_a = 0.9 if score["A"] > score["B"] else 0.7
    return [Choice("A", top_logprobs=({"A": math.log(p_a), "B": math.log(1 - p_a)},))]


@pytest.mark.parametrize(("judge", "selected"), [("reasoned", 1), ("scored", 0)])
async def test_scored_judge_sees_through_a_position_bias(sandbox, judge, selected) -> None:
    def biased(request: UpstreamRequest) -> list[str] | list[Choice]:
        return position_biased_judge(request) if request.purpose == "judge" else script(request)

    upstream = ScriptedUpstream(biased)
    params = one_call_params(samples=5, exec_wall_time_s=0.5, seed=7, judge=judge)
    result = await ScalingEngine(upstream, sandbox).run(make_task(), params)
    decided = [m for m in result.matches if m.winner is not None]
    if judge == "reasoned":
        assert not decided  # "A" in both orders: every match a draw, the largest cluster wins
    else:
        assert decided
        assert all(r.max_tokens == 1 and r.top_logprobs for r in upstream.by_purpose("judge"))
    assert result.selected == selected
