"""Every prompt template is rendered by its module's renderer, with every field filled.

Prompts are code: a template no renderer uses is dead, and a field a renderer forgets would
reach the model as ``{name}``. Each renderer runs once here on a representative task; every
upper-case template constant of every prompt module must then show up, literal text and all,
in some rendered prompt, and no rendered prompt may keep a ``{field}``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import string

import proxy.scaling.prompts as prompts
from proxy.scaling.prompts import clip
from proxy.scaling.prompts.debugging import feedback_message
from proxy.scaling.prompts.inputs import distinguish_prompt, input_format, synthesis_prompt
from proxy.scaling.prompts.judging import code_judge_prompt, execution_judge_prompt
from proxy.scaling.prompts.sampling import format_instruction, sampling_messages
from proxy.scaling.types import CodeTask, PublicTest, Signature, TestOutcome
from proxy.upstream.base import Message

STARTER = "class Solution:\n    def f(self, a, b): ..."
FUNCTION = CodeTask(
    problem="Return a + b.",
    conversation=(Message("user", "Return a + b."),),
    kind="function",
    model="m",
    signature=Signature("f", ("a", "b"), "Solution", STARTER),
    public_tests=(PublicTest("[1,2]", "3"),),
)
NO_PARAMS = CodeTask(
    problem="Return 1.", conversation=(), kind="function", model="m", signature=Signature("g")
)
STDIN = CodeTask(problem="Print a + b.", conversation=(), kind="stdin", model="m")


def _rendered() -> list[str]:
    outcome = TestOutcome("1 2\n", "3", "WRONG_ANSWER", "4", False)
    outputs = (("3",), ("4",))
    return [
        *(m.content for m in sampling_messages(FUNCTION)),
        format_instruction(STDIN),
        feedback_message((outcome,)),
        synthesis_prompt(FUNCTION, count=4),
        input_format(NO_PARAMS),
        distinguish_prompt(STDIN, programs=("a()", "b()"), count=3),
        execution_judge_prompt(
            STDIN, programs=("a()", "b()"), inputs=("1 2\n",), outputs=outputs, scored=False
        ),
        execution_judge_prompt(
            STDIN, programs=("a()", "b()"), inputs=("1 2\n",), outputs=outputs, scored=True
        ),
        code_judge_prompt(STDIN, programs=["a()", "b()"]),
    ]


def _templates() -> dict[str, str]:
    found = {}
    for info in pkgutil.iter_modules(prompts.__path__):
        module = importlib.import_module(f"{prompts.__name__}.{info.name}")
        for name, value in vars(module).items():
            if name.isupper() and not name.startswith("_") and isinstance(value, str):
                found[f"{info.name}.{name}"] = value
    return found


def _literal_pieces(template: str) -> list[str]:
    """The template's fixed text between its fields, as it appears once rendered."""
    pieces = [literal for literal, _, _, _ in string.Formatter().parse(template)]
    return [p.replace("{{", "{").replace("}}", "}") for p in pieces if p.strip()]


def test_every_template_is_rendered_whole_by_a_renderer() -> None:
    rendered = _rendered()
    templates = _templates()
    assert len(templates) >= 14
    for name, template in templates.items():
        pieces = _literal_pieces(template)
        assert any(all(p in text for p in pieces) for text in rendered), name


def test_no_rendered_prompt_keeps_a_field() -> None:
    for text in _rendered():
        assert re.search(r"\{[a-z_]+\}", text) is None, text


def test_clip_escapes_and_truncates() -> None:
    assert clip("a\x00b\x1b[31m") == "a\\x00b\\x1b[31m"
    assert clip("line\nnext\ttab") == "line\nnext\ttab"
    clipped = clip("x" * 50, 10)
    assert clipped.startswith("x" * 10)
    assert "40 more characters" in clipped
