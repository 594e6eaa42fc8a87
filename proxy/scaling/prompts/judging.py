"""Stage 3's judge prompts, and reading their verdicts.

The tournament's judge sees the problem, both programs, the inputs on which their *real*
outputs differ and those outputs (never predicted ones). Two reply styles:

- ``reasoned``: the judge works it out in text and ends with ``Answer: A`` or ``Answer: B``;
  :func:`parse_verdict` reads the last such line.
- ``scored``: the judge answers with one letter and the upstream's ``top_logprobs`` give P(A)
  and P(B) (:func:`letter_probability`); averaging over both program orders cancels a small
  model's position bias (Wang et al. 2023, "Large Language Models are not Fair Evaluators").

The ``judge`` selection mode's code-only judge numbers the candidates and ends with
``Answer: <number>`` (:func:`parse_code_choice`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from proxy.scaling.programs import strip_reasoning
from proxy.scaling.prompts import clip
from proxy.scaling.types import CodeTask
from proxy.upstream.base import Choice

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

SCORED_TOP_LOGPROBS = 10
"""Alternatives asked for at the scored judge's one answer token."""

_SHOWN_CLIP = 800
_VERDICT = re.compile(
    r"answer[*_\s]*(?:is\b)?[*_\s]*[:\uff1a]?[\s*_`\"'(\[]*(?:program\s+)?([AB])\b", re.IGNORECASE
)
_CODE_CHOICE = re.compile(
    r"answer[*_\s]*(?:is\b)?[*_\s]*[:\uff1a]?[\s*_`\"'(\[#]*(?:candidate\s+)?(\d+)", re.I
)


def execution_judge_prompt(
    task: CodeTask,
    *,
    programs: tuple[str, str],
    inputs: Sequence[str],
    outputs: tuple[Sequence[str], Sequence[str]],
    scored: bool,
) -> str:
    """The judge prompt for programs A and B, with their real outputs on ``inputs``."""
    executions = "\n\n".join(
        JUDGE_EXECUTION_ITEM.format(
            number=number,
            input=clip(given, _SHOWN_CLIP),
            output_a=clip(out_a, _SHOWN_CLIP),
            output_b=clip(out_b, _SHOWN_CLIP),
        )
        for number, (given, out_a, out_b) in enumerate(
            zip(inputs, outputs[0], outputs[1], strict=True), start=1
        )
    )
    return (JUDGE_EXECUTION_SCORED if scored else JUDGE_EXECUTION).format(
        problem=task.problem, program_a=programs[0], program_b=programs[1], executions=executions
    )


def parse_verdict(text: str) -> str | None:
    """``"A"`` or ``"B"`` from the judge's final ``Answer:`` line, else ``None``."""
    answers = _VERDICT.findall(strip_reasoning(text))
    return answers[-1].upper() if answers else None


def letter_probability(choice: Choice) -> float | None:
    """P(A) / (P(A) + P(B)) at the answer's first token; the letter itself (1 or 0) when the
    upstream sent no logprobs; ``None`` when neither letter is there."""
    if choice.top_logprobs:
        mass = {"A": 0.0, "B": 0.0}
        for token, logprob in choice.top_logprobs[0].items():
            if token.strip() in mass:
                mass[token.strip()] += math.exp(logprob)
        if mass["A"] + mass["B"] > 0:
            return mass["A"] / (mass["A"] + mass["B"])
    letter = choice.text.strip()[:1]
    return {"A": 1.0, "B": 0.0}.get(letter)


def code_judge_prompt(task: CodeTask, *, programs: Sequence[str]) -> str:
    """The code-only judge prompt: the candidates numbered from 1."""
    items = "\n\n".join(
        JUDGE_CODE_ITEM.format(number=number, program=program)
        for number, program in enumerate(programs, start=1)
    )
    return JUDGE_CODE.format(problem=task.problem, programs=items)


def parse_code_choice(text: str, *, count: int) -> int | None:
    """The 1-based candidate number the code judge chose, or ``None`` if unusable."""
    answers = _CODE_CHOICE.findall(strip_reasoning(text))
    choice = int(answers[-1]) if answers else 0
    return choice if 1 <= choice <= count else None
