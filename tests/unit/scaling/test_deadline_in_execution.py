"""A deadline that ends during a stage's executions degrades the run, never escapes it.

Real executions (``LocalSandbox``: plain subprocesses) of programs that outlive a short
deadline: the stages run several executions at once in task groups, and the budget's
``BudgetExhaustedError`` must become a degraded stage, not an exception group (a 500).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from proxy.scaling.debugging import test_candidates as run_public_tests
from proxy.scaling.tournament import Contender, Tournament
from proxy.scaling.types import (
    Candidate,
    Cluster,
    CodeTask,
    PublicTest,
    Revision,
    ScalingParams,
)
from proxy.upstream.base import Message
from sandbox import LocalSandbox
from tests.fakes import ScriptedUpstream, run_context

SLOW = "import time\ntime.sleep(5)\nprint(3)\n"
TASK = CodeTask(
    problem="Add two numbers.",
    conversation=(Message("user", "Add two numbers."),),
    kind="stdin",
    model="m",
    public_tests=(PublicTest("1 2\n", "3"), PublicTest("2 2\n", "4")),
)
INPUTS = '```json\n["5 6\\n", "7 8\\n"]\n```'


@pytest.fixture
async def sandbox() -> AsyncIterator[LocalSandbox]:
    local = LocalSandbox(workers=2)
    yield local
    await local.aclose()


async def test_public_tests_cut_by_the_deadline_leave_candidates_untested(
    sandbox: LocalSandbox,
) -> None:
    ctx = run_context(
        ScriptedUpstream(lambda r: []), TASK, ScalingParams(deadline_s=0.5), sandbox=sandbox
    )
    candidates = tuple(Candidate(i, (Revision(0, SLOW, "msg"),), 0) for i in range(3))
    tested = await run_public_tests(ctx, candidates)
    assert [c.revisions[0].tests for c in tested] == [(), (), ()]
    assert not any(c.passes_public for c in tested)
    assert any(d.startswith("public tests not run: deadline") for d in ctx.budget.degraded)


async def test_a_match_cut_by_the_deadline_is_not_played(sandbox: LocalSandbox) -> None:
    ctx = run_context(
        ScriptedUpstream(lambda r: [INPUTS]), TASK, ScalingParams(deadline_s=0.5), sandbox=sandbox
    )
    contenders = [
        Contender(Cluster(0, (0,), 0, ()), SLOW, ()),
        Contender(Cluster(1, (1,), 1, ()), SLOW.replace("3", "4"), ()),
    ]
    matches = await Tournament(ctx, synthesized=()).play_all(contenders)
    assert matches == ()
    assert "tournament cut short by the deadline" in ctx.budget.degraded
    assert "tournament played 0 of 1 pairs" in ctx.budget.degraded
