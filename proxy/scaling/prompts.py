"""Every prompt the engine sends, one named template per stage, filled by keyword.

Prompts are code: a change here changes the product's accuracy, so each template is rendered in
``tests/unit/scaling/test_prompts.py``. Templates use ``str.format`` with keyword fields only;
literal braces are doubled. Anything a candidate produced (outputs, errors) passes through
:func:`clip` first: truncated, control characters escaped, so a flood cannot blow up a prompt.
"""

from __future__ import annotations

import re

# -- stage 1: sampling (appended to the client's last user message) ---------------------------

SAMPLE_FORMAT_STDIN = (
    "Write a complete Python 3 program that solves the problem. It must read the input from "
    "standard input and print the answer to standard output. Give the whole program in one "
    "```python fenced code block."
)

SAMPLE_FORMAT_FUNCTION = (
    "Write Python 3 code that solves the problem by implementing `{signature}`{starter_note}. "
    "Do not read from standard input and do not print the answer: return it. Give the whole "
    "solution, including imports, in one ```python fenced code block."
)

STARTER_NOTE = " starting from this code:\n```python\n{starter}\n```\n"

# -- stage 2: iterative debugging --------------------------------------------------------------

DEBUG_FEEDBACK = (
    "Your program was run on the public tests and failed {failed} of {total}:\n\n{tests}\n\n"
    "Find the bug and give the complete corrected program in one ```python fenced code block."
)

DEBUG_TEST = (
    "Test {number}: {verdict}\nInput:\n{input}\nExpected output:\n{expected}\n"
    "Actual output:\n{actual}"
)

# -- stage 3: input synthesis ------------------------------------------------------------------

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

# -- stage 3: judging ---------------------------------------------------------------------------

JUDGE_EXECUTION = (
    "Here is a programming problem:\n\n{problem}\n\nTwo candidate solutions:\n\n"
    "Program A:\n```python\n{program_a}\n```\n\nProgram B:\n```python\n{program_b}\n```\n\n"
    "Both were executed on the same inputs; these are their real outputs:\n\n{executions}\n\n"
    "Work out what the correct output is for these inputs according to the problem, then decide "
    "which program is correct. End your reply with a line `Answer: A` or `Answer: B`."
)

JUDGE_EXECUTION_SCORED = (
    "Here is a programming problem:\n\n{problem}\n\nTwo candidate solutions:\n\n"
    "Program A:\n```python\n{program_a}\n```\n\nProgram B:\n```python\n{program_b}\n```\n\n"
    "Both were executed on the same inputs; these are their real outputs:\n\n{executions}\n\n"
    "According to the problem, which program's outputs are correct? Reply with the single "
    "letter A or B."
)

JUDGE_EXECUTION_ITEM = (
    "Input {number}:\n{input}\nOutput of program A:\n{output_a}\nOutput of program B:\n{output_b}"
)

JUDGE_CODE = (
    "Here is a programming problem:\n\n{problem}\n\nCandidate solutions:\n\n{programs}\n\n"
    "Which candidate is most likely correct? End your reply with a line `Answer: <number>`."
)

JUDGE_CODE_ITEM = "Candidate {number}:\n```python\n{program}\n```"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")


def clip(text: str, limit: int = 1000) -> str:
    """``text`` safe for a prompt: control characters escaped, at most ``limit`` characters."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [truncated, {len(text) - limit} more characters]"


# -- stage 0: example extraction fallback (only when the deterministic parser found none) -------

EXTRACT_EXAMPLES = (
    "Here is a programming problem:\n\n{problem}\n\n"
    "List the worked examples that the statement itself gives, copied exactly: each with its "
    "input and its expected output. {input_format} {output_format} Never invent an example: if "
    "the statement shows none, reply with []. Reply with one ```json fenced block containing a "
    'JSON array of objects {{"input": ..., "output": ...}}.'
)

OUTPUT_FORMAT_STDIN = "Each output is the exact expected standard output, as a JSON string."

OUTPUT_FORMAT_FUNCTION = "Each output is the expected return value, as JSON."
