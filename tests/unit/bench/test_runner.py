"""The benchmark loop with a scripted asker and judge: grading, oracle, resume, traces."""

from __future__ import annotations

import json

from bench.accuracy.client import Attempt, ScalingOptions, TracePick
from bench.accuracy.runner import evaluate, grade_candidates, plan_requests, run_benchmark
from bench.accuracy.store import ResultStore
from bench.accuracy.tasks import BenchTask

GOOD = "def f():\n    return 1\n"
BAD = "def f():\n    return 0\n"


def _task(n: int) -> BenchTask:
    return BenchTask("humaneval", f"HumanEval/{n}", f"task {n}", "def f():\n", entry_point="f")


class ScriptedAsker:
    """Plain answers are wrong; S* answers are right for even tasks; candidates mixed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def attempt(self, message: str, mode: str, options: ScalingOptions) -> Attempt:
        self.calls.append((message, mode))
        if mode == "plain":
            return Attempt(answer=f"```python\n{BAD}```", prompt_tokens=5, completion_tokens=5)
        if mode == "judge":
            return Attempt(error="APITimeoutError: timed out", wall_s=2.0)
        number = int(message.split()[-1])
        answer = GOOD if number % 4 == 0 else BAD
        return Attempt(
            answer=f"```python\n{answer}```",
            candidates={0: BAD, 1: GOOD, 2: GOOD, 3: BAD},
            selected=1,
            picks=(
                TracePick("public", 2, 0.5, 20, 10),
                TracePick("majority", 3, 0.75, 30, 12),
                TracePick("adaptive", 1, 1.5, 50, 50),
            ),
            prompt_tokens=50,
            completion_tokens=50,
            wall_s=1.5,
            run_id=f"run-{number}",
            trace={"candidates": [], "selected": 1},
        )


class CountingJudge:
    def __init__(self) -> None:
        self.graded: list[str] = []

    async def grade(self, task: BenchTask, program: str) -> bool:
        self.graded.append(program)
        return program == GOOD


async def test_evaluate_grades_answer_and_each_distinct_candidate_once():
    judge = CountingJudge()
    [record], _ = await evaluate(
        _task(2), "adaptive", asker=ScriptedAsker(), judge=judge, options=ScalingOptions()
    )
    assert (record.passed, record.oracle_passed) == (False, True)
    assert (record.candidates, record.candidates_passed, record.selected) == (4, 2, 1)
    assert record.tokens == 100
    assert sorted(judge.graded) == sorted([BAD, BAD, GOOD])  # answer + 2 distinct candidates
    verdicts = await grade_candidates(judge, _task(0), {0: GOOD, 4: BAD, 5: GOOD})
    assert verdicts == {0: True, 4: False, 5: True}


async def test_paired_modes_are_read_from_the_run_picks():
    assert plan_requests(["plain", "public", "adaptive", "majority"], paired=True) == [
        ("plain", ()),
        ("adaptive", ("public", "majority")),
    ]
    records, _ = await evaluate(
        _task(4), "adaptive", asker=ScriptedAsker(), judge=CountingJudge(),
        options=ScalingOptions(), derived=("public", "majority", "first"),
    )  # fmt: skip
    run, public, majority, first = records
    assert (run.mode, run.passed, run.derived_from) == ("adaptive", True, None)
    assert (public.passed, public.selected, public.tokens, public.wall_s) == (True, 2, 30, 0.5)
    assert (majority.passed, majority.selected, majority.tokens) == (False, 3, 42)
    assert {public.derived_from, majority.derived_from} == {"adaptive"}
    assert public.oracle_passed  # the same candidates as the run
    assert majority.oracle_passed
    # no pick recorded for 'first': it takes the run's own outcome
    assert (first.passed, first.selected, first.tokens) == (run.passed, run.selected, run.tokens)


async def test_a_failed_paired_request_fails_every_mode_read_from_it(tmp_path):
    store = ResultStore(tmp_path / "r.json", {"samples": 4})
    ran = await run_benchmark(
        [_task(0)], ["judge", "public"], asker=ScriptedAsker(), judge=CountingJudge(),
        store=store, options=ScalingOptions(), progress=False,
    )  # fmt: skip
    assert ran == 2
    assert {r.mode: r.error is not None for r in store.records} == {"judge": True, "public": True}
    assert {r.mode: r.derived_from for r in store.records} == {"judge": None, "public": "judge"}


async def test_run_skips_finished_pairs_and_retries_errors(tmp_path):
    store = ResultStore(tmp_path / "r.json", {"samples": 4})
    tasks = [_task(0), _task(2)]
    modes = ["plain", "adaptive", "judge"]
    asker = ScriptedAsker()
    traces = tmp_path / "traces"
    ran = await run_benchmark(
        tasks, modes, asker=asker, judge=CountingJudge(), store=store,
        options=ScalingOptions(), concurrency=2, traces_dir=traces, progress=False,
        paired=False,
    )  # fmt: skip
    assert ran == 6
    by_key = {(r.task_id, r.mode): r for r in store.records}
    assert by_key[("HumanEval/0", "adaptive")].passed
    assert not by_key[("HumanEval/2", "adaptive")].passed
    assert by_key[("HumanEval/2", "adaptive")].oracle_passed
    assert not by_key[("HumanEval/0", "plain")].oracle_passed
    assert by_key[("HumanEval/0", "judge")].error is not None
    assert json.loads((traces / "adaptive" / "HumanEval_0.json").read_text())["selected"] == 1

    resumed = ScriptedAsker()
    again = ResultStore(tmp_path / "r.json", {"samples": 4})
    ran = await run_benchmark(
        tasks, modes, asker=resumed, judge=CountingJudge(), store=again,
        options=ScalingOptions(), progress=False, paired=False,
    )  # fmt: skip
    assert ran == 2
    assert sorted(resumed.calls) == [("task 0", "judge"), ("task 2", "judge")]
