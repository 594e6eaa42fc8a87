"""S* stage 3: input synthesis, initial and adaptive (per pair of programs).

Candidates that pass the public tests can still disagree; the model proposes *inputs only* that
separate them, and ``selection``/``tournament`` execute the programs on them. Expected outputs are
never asked for or trusted here: the paper measured predicted outputs as noisy, real executions
as what works.

Inputs: the task, ``ScalingParams.num_synth_inputs``, the auxiliary model (``params.aux_model``
or the task's model). Outputs: validated inputs in the sandbox's format, JSON arrays of the right
arity for function tasks, stdin text for stdin tasks, deduplicated and capped. A reply cut off at
the token cap is salvaged element by element. A failed call yields no inputs (recorded), never an
error.
"""

from __future__ import annotations

import json
import re

from proxy.errors import UpstreamError
from proxy.scaling.budget import BudgetExhaustedError, RunBudget
from proxy.scaling.literals import canonical_json, parse_literal
from proxy.scaling.prompts import (
    DISTINGUISH_INPUTS,
    INPUT_FORMAT_FUNCTION,
    INPUT_FORMAT_POSITIONAL,
    INPUT_FORMAT_STDIN,
    SYNTHESIS_INPUTS,
    clip,
)
from proxy.scaling.sampling import render_signature
from proxy.scaling.types import CodeTask, ScalingParams
from proxy.upstream.base import Message, Purpose, Upstream, UpstreamRequest

DISTINGUISHING_INPUTS = 3
MAX_INPUT_CHARS = 20_000
_FENCE = re.compile(r"```[\w-]*[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def input_format(task: CodeTask) -> str:
    """How inputs must be written for this task, with an example from the prompt if it has one.

    Function tasks with known parameters ask for JSON objects keyed by parameter name: a bare
    array is ambiguous for one-parameter functions taking a list (is ``[1, 2]`` one argument or
    two?), and models fill named fields more reliably.
    """
    if task.kind == "stdin" or task.signature is None:
        return INPUT_FORMAT_STDIN
    params = [p for p in task.signature.params if p != "self"]
    signature = render_signature(task.signature)
    args = json.loads(task.public_tests[0].input) if task.public_tests else None
    if not params:
        example = json.dumps(args) if args is not None else "[1, 2]"
        return INPUT_FORMAT_POSITIONAL.format(signature=signature, example=example)
    if isinstance(args, list) and len(args) == len(params):
        example = json.dumps(dict(zip(params, args, strict=True)))
    else:
        example = "{" + ", ".join(f'"{p}": ...' for p in params) + "}"
    return INPUT_FORMAT_FUNCTION.format(signature=signature, example=example)


def parse_inputs(text: str, *, task: CodeTask, limit: int) -> tuple[str, ...]:
    """The valid inputs in a model reply, in order, deduplicated, at most ``limit``."""
    valid: dict[str, None] = {}
    for item in _items(text):
        checked = validate_input(item, task)
        if checked is not None:
            valid.setdefault(checked)
    return tuple(valid)[:limit]


def validate_input(item: object, task: CodeTask) -> str | None:
    """One proposed input in the sandbox's format, or ``None`` if it does not fit the task.

    Models often wrap inputs as ``{"input": ..., "expected": ...}`` despite the instructions;
    the input is taken and anything else ignored (expected outputs are never trusted).
    """
    params = [p for p in task.signature.params if p != "self"] if task.signature else []
    if isinstance(item, dict) and "input" in item and "input" not in params:
        item = item["input"]
    if task.kind == "stdin":
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_INPUT_CHARS:
            return None
        return item if item.endswith("\n") else item + "\n"
    if isinstance(item, dict) and params and all(p in item for p in params):
        # NOTE: extra keys (an "expected" the model added anyway) are ignored, never trusted.
        item = [item[p] for p in params]
    if not isinstance(item, list) or (params and len(item) != len(params)):
        return None
    encoded = canonical_json(item)
    return encoded if len(encoded) <= MAX_INPUT_CHARS else None


def salvage_json_array(text: str) -> list[object]:
    """Elements of the first array in ``text``, up to the first that does not parse.

    A reply cut off by the token cap loses only its unfinished last element. Elements are JSON,
    or Python literals when JSON fails: small models write ``{"s": "ab", "expected": True}``.
    """
    start = text.find("[")
    if start < 0:
        return []
    decoder = json.JSONDecoder()
    items: list[object] = []
    position = start + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return items
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            end = _element_end(text, position)
            if end is None:
                return items
            try:
                value = parse_literal(text[position:end])
            except ValueError:
                return items
            position = end
        items.append(value)


_CLOSING = {"[": "]", "{": "}", "(": ")"}


def _element_end(text: str, start: int) -> int | None:
    """Where the array element starting at ``start`` ends (at a top-level ``,`` or ``]``), or
    ``None`` if the text ends first. Brackets nest; quoted strings are skipped whole."""
    expected: list[str] = []
    position = start
    while position < len(text):
        char = text[position]
        if char in "\"'":
            after = _string_end(text, position)
            if after is None:
                return None
            position = after
            continue
        if char in _CLOSING:
            expected.append(_CLOSING[char])
        elif expected and char == expected[-1]:
            expected.pop()
        elif not expected and char in ",]":
            return position
        position += 1
    return None


def _string_end(text: str, start: int) -> int | None:
    quote = text[start]
    position = start + 1
    while position < len(text):
        if text[position] == "\\":
            position += 2
        elif text[position] == quote:
            return position + 1
        else:
            position += 1
    return None


def fenced_region(text: str) -> str:
    """The last fenced block of a reply (even one cut off), else the whole reply."""
    fences = _FENCE.findall(text)
    return str(fences[-1]) if fences else text


def _items(text: str) -> list[object]:
    # NOTE: Python-style answers hold tuples where JSON has arrays.
    items = salvage_json_array(fenced_region(text))
    return [list(v) if isinstance(v, tuple) else v for v in items]


async def synthesize_inputs(
    budget: RunBudget, upstream: Upstream, *, task: CodeTask, params: ScalingParams
) -> tuple[str, ...]:
    """Initial inputs for clustering all candidates."""
    prompt = SYNTHESIS_INPUTS.format(
        problem=task.problem, count=params.num_synth_inputs, input_format=input_format(task)
    )
    text = await ask(budget, upstream, task=task, params=params, prompt=prompt, purpose="synthesis")
    inputs = parse_inputs(text, task=task, limit=params.num_synth_inputs)
    if text and not inputs:
        budget.degrade(f"input synthesis returned no valid input: {clip(text.strip(), 160)!r}")
    return inputs


async def synthesize_distinguishing_inputs(
    budget: RunBudget,
    upstream: Upstream,
    *,
    task: CodeTask,
    params: ScalingParams,
    programs: tuple[str, str],
) -> tuple[str, ...]:
    """Adaptive inputs meant to separate two specific programs."""
    prompt = DISTINGUISH_INPUTS.format(
        problem=task.problem,
        program_a=programs[0],
        program_b=programs[1],
        count=DISTINGUISHING_INPUTS,
        input_format=input_format(task),
    )
    text = await ask(
        budget, upstream, task=task, params=params, prompt=prompt, purpose="distinguish"
    )
    return parse_inputs(text, task=task, limit=DISTINGUISHING_INPUTS)


async def ask(
    budget: RunBudget,
    upstream: Upstream,
    *,
    task: CodeTask,
    params: ScalingParams,
    prompt: str,
    purpose: Purpose,
    temperature: float | None = None,
) -> str:
    """One auxiliary-model call; ``""`` (and a degradation note) if it cannot be made."""
    request = UpstreamRequest(
        model=params.aux_model or task.model,
        messages=(Message("user", prompt),),
        temperature=params.temperature if temperature is None else temperature,
        max_tokens=params.max_tokens_per_call,
        seed=params.seed,
        purpose=purpose,
    )
    try:
        response = await budget.complete(upstream, request)
    except UpstreamError as exc:
        budget.degrade(f"a {purpose} call failed: {type(exc).__name__}: {exc.message[:200]}")
        return ""
    except BudgetExhaustedError as exc:
        budget.degrade(f"{purpose} skipped: {exc.reason}")
        return ""
    return response.choices[0].text if response.choices else ""
