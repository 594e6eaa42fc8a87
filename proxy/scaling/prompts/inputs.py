"""Stage 3's input prompts, and reading the inputs back: initial inputs for clustering every
candidate, and adaptive inputs meant to tell two specific programs apart.

The model proposes *inputs only*; expected outputs are never asked for or trusted (the paper
measured predicted outputs as noisy, real executions as what works). A reply is read leniently:
the last fenced block (even one cut off by the token cap, element by element), JSON or Python
literals, an array or objects one after another, ``{"input": ..., "expected": ...}`` wrappers
unwrapped, stdin text given as an array of strings taken as text; each input is validated for
the task (JSON arrays of the right arity for function tasks, stdin text for stdin tasks),
deduplicated and capped.
"""

from __future__ import annotations

import json

from proxy.fences import fenced_blocks
from proxy.scaling.literals import canonical_json, parse_literal
from proxy.scaling.prompts.sampling import render_signature
from proxy.scaling.types import CodeTask

INPUT_FORMAT_STDIN = (
    "Each input is the complete text given on standard input, written as a JSON string "
    '(use \\n for line breaks), for example "3\\n1 2 3\\n".'
)

INPUT_FORMAT_FUNCTION = (
    "Each input is a JSON object giving every parameter of `{signature}` its argument value, "
    "for example {example}."
)

INPUT_FORMAT_POSITIONAL = (
    "Each input is a JSON array holding the positional arguments of `{signature}` in order, "
    "for example {example}."
)

SYNTHESIS_INPUTS = (
    "Here is a programming problem:\n\n{problem}\n\n"
    "Propose {count} test inputs for it: edge cases, tricky cases and a few larger ones, all valid "
    "under the problem's constraints, and none of them a copy of the problem's own examples. "
    "{input_format} Give inputs only, never expected outputs. "
    "Reply with one ```json fenced block containing a JSON array of the inputs."
)

DISTINGUISH_INPUTS = (
    "Here is a programming problem:\n\n{problem}\n\nTwo candidate solutions:\n\n"
    "Program A:\n```python\n{program_a}\n```\n\nProgram B:\n```python\n{program_b}\n```\n\n"
    "Propose up to {count} valid test inputs on which these two programs would behave "
    "differently, so that running them shows which one is correct. {input_format} Give inputs "
    "only, never expected outputs. Reply with one ```json fenced block containing a JSON array "
    "of the inputs."
)

MAX_INPUT_CHARS = 20_000


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


def synthesis_prompt(task: CodeTask, *, count: int) -> str:
    """The prompt for initial inputs, to cluster every candidate on."""
    return SYNTHESIS_INPUTS.format(
        problem=task.problem, count=count, input_format=input_format(task)
    )


def distinguish_prompt(task: CodeTask, *, programs: tuple[str, str], count: int) -> str:
    """The prompt for inputs on which two programs would behave differently."""
    return DISTINGUISH_INPUTS.format(
        problem=task.problem,
        program_a=programs[0],
        program_b=programs[1],
        count=count,
        input_format=input_format(task),
    )


def parse_inputs(text: str, *, task: CodeTask, limit: int) -> tuple[str, ...]:
    """The valid inputs in a model reply, in order, deduplicated, at most ``limit``."""
    best: dict[str, None] = {}
    for items in _readings(text):
        valid: dict[str, None] = {}
        for item in items:
            checked = validate_input(item, task)
            if checked is not None:
                valid.setdefault(checked)
        if len(valid) > len(best):
            best = valid
    return tuple(best)[:limit]


def validate_input(item: object, task: CodeTask) -> str | None:
    """One proposed input in the sandbox's format, or ``None`` if it does not fit the task.

    Models often wrap inputs as ``{"input": ..., "expected": ...}`` despite the instructions;
    the input is taken and anything else ignored (expected outputs are never trusted). Stdin
    inputs also come as arrays of strings; see :func:`_stdin_text`.
    """
    params = [p for p in task.signature.params if p != "self"] if task.signature else []
    if isinstance(item, dict) and "input" in item and "input" not in params:
        item = item["input"]
    if task.kind == "stdin":
        item = _stdin_text(item)
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


def _stdin_text(item: object) -> object:
    """The stdin text in an array of strings a model wrote instead of one string.

    Small models write three shapes despite the instructions: ``["6\\n3 1 4\\n"]`` (the
    input alone), ``["4\\n1 2 3 4", "1 3 6 10"]`` (input, then the expected output it was told
    not to give: the first string has the line breaks) and ``["3", "1 2 3", ""]`` (the input's
    lines). Anything else is returned unchanged, for the caller to refuse.
    """
    if not isinstance(item, list) or not item or not all(isinstance(s, str) for s in item):
        return item
    if len(item) == 1 or "\n" in item[0]:
        return item[0]
    return "\n".join(item)


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


def _readings(text: str) -> list[list[object]]:
    """The elements of the reply's last fenced block (even one cut off), else of the reply, read
    as an array and, when the block starts with an object, also as objects one after another:
    small models write ``{"input": ...}`` lines with no array around them, and the array reading
    would take the first list inside the first object instead. The caller keeps the reading
    with more valid inputs (``{"inputs": [...]}`` is read right only as an array)."""
    blocks = fenced_blocks(text)
    region = blocks[-1].body if blocks else text
    readings = [salvage_json_array(region)]
    if region.lstrip().startswith("{"):
        readings.append(salvage_json_array("[" + region))
    # NOTE: Python-style answers hold tuples where JSON has arrays.
    return [[list(v) if isinstance(v, tuple) else v for v in items] for items in readings]
