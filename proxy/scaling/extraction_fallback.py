"""S* stage 0 fallback: public tests listed by the model, kept only if the prompt shows them.

The deterministic parser (``extraction.py``) misses examples written in unusual shapes. When it
finds none and ``ScalingParams.extract_tests_with_model`` is set, the model is asked to copy the
statement's examples; an example survives only if its expected output occurs verbatim in the
prompt, and so does its input ("do not invent tests": a made-up expected output would reject
correct programs). The
engine asks while sampling runs, so the call is off the critical path.

Inputs: the task (problem text, kind, signature). Outputs: ``PublicTest`` values with
``source="model"``, possibly none. A failed call yields none (recorded), never an error.
"""

from __future__ import annotations

import json

from proxy.scaling.budget import RunBudget
from proxy.scaling.extraction import MAX_TESTS
from proxy.scaling.literals import canonical_json
from proxy.scaling.prompts import EXTRACT_EXAMPLES, OUTPUT_FORMAT_FUNCTION, OUTPUT_FORMAT_STDIN
from proxy.scaling.synthesis import (
    ask,
    fenced_region,
    input_format,
    salvage_json_array,
    validate_input,
)
from proxy.scaling.types import CodeTask, PublicTest, ScalingParams
from proxy.upstream.base import Upstream


async def extract_tests_with_model(
    budget: RunBudget, upstream: Upstream, *, task: CodeTask, params: ScalingParams
) -> tuple[PublicTest, ...]:
    """The prompt's examples as listed by the model, each checked against the prompt."""
    output_format = OUTPUT_FORMAT_STDIN if task.kind == "stdin" else OUTPUT_FORMAT_FUNCTION
    prompt = EXTRACT_EXAMPLES.format(
        problem=task.problem, input_format=input_format(task), output_format=output_format
    )
    text = await ask(
        budget,
        upstream,
        task=task,
        params=params,
        prompt=prompt,
        purpose="extraction",
        temperature=0.0,
    )
    tests = parse_examples(text, task=task)
    if text and not tests:
        budget.degrade("the model listed no example that occurs in the prompt")
    return tests


def parse_examples(text: str, *, task: CodeTask) -> tuple[PublicTest, ...]:
    """Examples from a model reply whose expected output occurs verbatim in the problem."""
    tests: dict[tuple[str, str], PublicTest] = {}
    for item in salvage_json_array(fenced_region(text)):
        if not isinstance(item, dict) or "input" not in item or "output" not in item:
            continue
        given = validate_input(item["input"], task)
        expected = _expected(item["output"], task)
        if given is None or expected is None or not _input_shown(item["input"], task):
            continue
        tests.setdefault((given, expected), PublicTest(given, expected, source="model"))
    return tuple(tests.values())[:MAX_TESTS]


def _expected(value: object, task: CodeTask) -> str | None:
    if task.kind == "stdin":
        if not isinstance(value, str) or not value.strip():
            return None
        expected = "\n".join(line.rstrip() for line in value.strip("\n").splitlines())
        return expected if _stripped_lines(expected) in _stripped_lines(task.problem) else None
    return canonical_json(value) if _appears(value, task.problem) else None


def _input_shown(value: object, task: CodeTask) -> bool:
    """The input must be in the prompt too: a short output like ``2`` occurs anywhere."""
    if isinstance(value, str):
        return _stripped_lines(value) in _stripped_lines(task.problem)
    args = list(value.values()) if isinstance(value, dict) else value
    return isinstance(args, list) and all(_appears(arg, task.problem) for arg in args)


def _stripped_lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines())


def _appears(value: object, problem: str) -> bool:
    """Whether the prompt writes ``value`` in one of the usual ways (JSON, Python, bare)."""
    spellings = {
        json.dumps(value),
        json.dumps(value, separators=(",", ":")),
        repr(value),
        str(value),
    }
    if isinstance(value, bool):
        spellings |= {"true" if value else "false"}
    if isinstance(value, str):
        spellings |= {value}
    return any(s and s in problem for s in spellings)
