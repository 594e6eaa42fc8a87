"""When the model only proposes the prompt's examples, varied inputs still split the programs.

The dev-split failure this guards against (HumanEval/20): every candidate in the pool passes the
examples, input synthesis returns the examples again, so all programs share one cluster and the
representative is chosen by speed and index, not correctness. Here the first sample returns
the pair in the order it met it, not sorted; only an input with the pair in descending order
shows it. Scripted model text, real bubblewrap execution, a judge that reads the real outputs.
"""

from __future__ import annotations

import json
import re

import pytest

from proxy.scaling.engine import ScalingEngine
from proxy.scaling.types import CodeTask
from proxy.upstream.base import UpstreamRequest
from tests.fakes import ScriptedUpstream, function_task, one_call_params

pytestmark = pytest.mark.bwrap

PROBLEM = """Write a function nearest_gap(values) that returns the two values whose difference
is smallest, as a tuple (smaller, larger). values has at least two numbers.

>>> nearest_gap([10, 4, 7, 12])
(10, 12)
>>> nearest_gap([1, 9, 3, 20])
(1, 3)
"""

IN_LIST_ORDER = (
    "def nearest_gap(values):\n"
    "    best = None\n"
    "    for i in range(len(values)):\n"
    "        for j in range(i + 1, len(values)):\n"
    "            gap = abs(values[i] - values[j])\n"
    "            if best is None or gap < best[0]:\n"
    "                best = (gap, values[i], values[j])\n"
    "    return best[1], best[2]\n"
)
SORTED = (
    "def nearest_gap(values):\n"
    "    s = sorted(values)\n"
    "    pairs = [(s[i + 1] - s[i], s[i], s[i + 1]) for i in range(len(s) - 1)]\n"
    "    gap, low, high = min(pairs)\n"
    "    return low, high\n"
)
_ITEM = re.compile(
    r"Input \d+:\n(\[.*?\])\nOutput of program A:\n(.*?)\nOutput of program B:\n(.*?)(?:\n\n|$)",
    re.S,
)


def truth(values: list[int]) -> list[int]:
    s = sorted(values)
    _, low, high = min((s[i + 1] - s[i], s[i], s[i + 1]) for i in range(len(s) - 1))
    return [low, high]


def script(request: UpstreamRequest) -> list[str]:
    prompt = request.messages[-1].content
    if request.purpose == "sample":
        return [f"```python\n{p}```" for p in (IN_LIST_ORDER, SORTED)][: request.n]
    if request.purpose == "synthesis":  # a small model echoing the examples
        return ['```json\n[{"values": [10, 4, 7, 12]}, {"values": [1, 9, 3, 20]}]\n```']
    if request.purpose == "distinguish":
        return ["```json\n[]\n```"]
    if request.purpose == "judge":
        score = {"A": 0, "B": 0}
        for given, out_a, out_b in _ITEM.findall(prompt):
            expected = truth(json.loads(given)[0])
            score["A"] += json.loads(out_a) == expected
            score["B"] += json.loads(out_b) == expected
        return ["Answer: A" if score["A"] >= score["B"] else "Answer: B"]
    raise AssertionError(f"unexpected call: {request.purpose}")


def make_task() -> CodeTask:
    return function_task(PROBLEM, "nearest_gap", ("values",))


async def test_varied_inputs_split_programs_the_examples_cannot(sandbox) -> None:
    task = make_task()
    assert len(task.public_tests) == 2
    params = one_call_params(samples=2, rounds=1, exec_wall_time_s=1.0, seed=3)
    result = await ScalingEngine(ScriptedUpstream(script), sandbox).run(task, params)

    assert result.passed_public == 2  # both pass the examples
    assert set(result.synthesized_inputs) == {t.input for t in task.public_tests}
    assert "[[12,7,4,10]]" in result.mutated_inputs  # the first example reversed
    assert len(result.clusters) == 2
    assert result.program == SORTED.rstrip("\n")
    assert any("varied from the known ones" in r for r in result.reasons)
