"""What kind of program does a prompt ask for: a stdin program, or which function?

``infer_task_shape`` turns a problem text into a ``TaskShape`` (stdin program or named function,
the language, the signature from starter code) or ``None`` when no *runnable* task can be
determined. ``None`` is the safe answer: the detector then passes the request through, because
S* without a way to call the program has nothing to test (OPENAI_API.md §9, last row).

Deterministic regular expressions and a line scanner only, no ``ast``: starter code has stub
bodies that do not parse, and this runs on every chat request (budget: well under a millisecond
for a typical prompt). The starter-code scanner is ``prompt_code.py``, the language rules
``language.py``; this module holds the prose rules (stdin statements, "write a function
``foo(x)``") and their order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy.detection.caseless import caseless
from proxy.detection.language import detect_language
from proxy.detection.prompt_code import find_entry_point, split_params
from proxy.fences import strip_fences
from proxy.scaling.types import Signature, TaskKind

__all__ = ["TaskShape", "infer_task_shape"]


@dataclass(frozen=True, slots=True)
class TaskShape:
    """A runnable task: how to call the program, and in which language.

    ``evidence`` names what decided it (``stub``, ``leetcode``, ``stdin_statement``,
    ``stdin_request``, ``named_function``, ``example_call``): the detector reports it and uses
    it to tell a strong signal (starter code, a contest statement) from a weak one (a phrase).
    """

    kind: TaskKind
    language: str = "python"
    signature: Signature | None = None
    evidence: str = ""

    @property
    def strong(self) -> bool:
        """Starter code or a full contest statement: the prompt was written as a task."""
        return self.evidence in {"stub", "leetcode", "stdin_statement"}


# --- stdin statements --------------------------------------------------------------------------

_HEADING = (
    r"^[ \t]*(?:#+[ \t]*|\*\*|-{2,}[ \t]*)?{word}(?:[ \t]+(?:format|specification|data))?"
    r"(?:\*\*)?[ \t]*:?(?:\*\*)?[ \t]*$"
)
_INPUT_HEADING = caseless(_HEADING.replace("{word}", "(?:input|入力)"), re.M)
_OUTPUT_HEADING = caseless(_HEADING.replace("{word}", "(?:output|出力)"), re.M)
_SAMPLE = caseless(r"\b(?:sample|example)\s+input\b|^[ \t]*input\s*\d+\s*:?[ \t]*$", re.M)
_STDIN_WORDS = caseless(
    r"\bstandard input\b|\bstdin\b|\bsys\.stdin\b|\bfrom the (?:console|keyboard)\b|"
    r"\binput is given\b|\binput\(\)"
)
_FIRST_LINE = caseless(r"\bthe first line(?: of (?:the )?input)? contains\b")
_PRINT = caseless(r"\b(?:print|output)\s+(?:the|a|an|one|each|all|yes|no|[\"'`])")
_INLINE_IO = caseless(r"^[ \t]*(?:\*\*)?input(?:\*\*)?:[^=\n]+$", re.M)
_INLINE_OUT = caseless(r"^[ \t]*(?:\*\*)?output(?:\*\*)?:", re.M)
_IO_WORDS = caseless(r"\bprint|\blines?\b|\bspace-separated\b|\bread\b")
_LEETCODE_IO = caseless(r"^[ \t]*(?:\*\*)?input:?(?:\*\*)?:?\s*[a-z_]\w*\s*=", re.M)
_PROGRAM = caseless(r"\b(?:program|script|code|solution|solver|application)\b")
_READS = caseless(
    r"\b(?:reads?|reading|takes?|accepts?|gets?|asks?)\b[^.\n]{0,80}"
    r"\b(?:input|inputs|integers?|numbers?|lines?|strings?|words?|values?|n|t|text|queries)\b"
)
_PRINTS = caseless(r"\b(?:prints?|outputs?|displays?|writes? (?:out|to stdout))\b")


def _stdin_evidence(prose: str) -> str | None:
    """``stdin_statement`` for a contest-style statement, ``stdin_request`` for a short
    "write a program that reads ... and prints ..." request, else ``None``."""
    headings = bool(_INPUT_HEADING.search(prose) and _OUTPUT_HEADING.search(prose))
    if _STDIN_WORDS.search(prose) or headings or _SAMPLE.search(prose):
        return "stdin_statement"
    if _LEETCODE_IO.search(prose):
        return None  # LeetCode examples without starter code: a function with no known name
    if _FIRST_LINE.search(prose) and _PRINT.search(prose):
        return "stdin_statement"
    if _INLINE_IO.search(prose) and _INLINE_OUT.search(prose) and _IO_WORDS.search(prose):
        return "stdin_statement"  # "Input: two lines, s and t." / "Output: YES or NO."
    if _PROGRAM.search(prose) and _READS.search(prose) and _PRINTS.search(prose):
        return "stdin_request"
    return None


# --- named functions in prose ----------------------------------------------------------------

_IDENT = r"[A-Za-z_]\w*"
_NAMED_WITH_ARGS = re.compile(
    rf"\b(?:function|method|def|routine|procedure|subroutine|lambda)\s+(?:called\s+|named\s+)?"
    rf"[`'\"*]*({_IDENT})\s*\(([^()\n]*)\)"
)
_BACKTICK_CALL = re.compile(rf"`(?:def\s+)?({_IDENT})\s*\(([^()`\n]*)\)[^`\n]*`")
_NAMED_NO_ARGS = re.compile(rf"\b(?:function|method)\s+(?:called|named)\s+[`'\"*]*({_IDENT})")
_EXAMPLE_LINE = re.compile(
    r"^[ \t]*(?:>>>|assert\b|print\().*|^[ \t]*[A-Za-z_]\w*\(.*\)\s*"
    r"(?:==|->|=>|➞|→|returns?\b|should (?:return|be|give)\b|gives\b).*",
    re.M,
)
_CALL = re.compile(rf"({_IDENT})\s*\(")
_FUNCTION_WORD = caseless(r"\b(?:function|method|def|routine|procedure|subroutine)\b")
# Builtins and prose words that look like calls ("print(x)", "f(x) = ...") but name no task.
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "print len range int str float list dict set tuple sorted sum max min abs map filter zip "
        "input open type isinstance any all round pow that which to in for a an the is it this of "
        "f g h x y",
    )
)


def _named_function(prose: str) -> tuple[Signature, str] | None:
    """A function the prose names ("write a function ``foo(x, y)``", "assert foo(1) == 2")."""
    patterns = (_NAMED_WITH_ARGS, _BACKTICK_CALL) if _FUNCTION_WORD.search(prose) else ()
    for pattern in (*patterns, _BACKTICK_CALL):
        for m in pattern.finditer(prose):
            if m.group(1) not in _NOT_NAMES:
                return Signature(m.group(1), split_params(m.group(2))), "named_function"
    bare = _NAMED_NO_ARGS.search(prose)
    if bare and bare.group(1) not in _NOT_NAMES:
        return Signature(bare.group(1)), "named_function"
    for line in _EXAMPLE_LINE.finditer(prose):
        # "assert set(common(a, b)) == ...": the first call that is not a builtin
        names = [n for n in _CALL.findall(line.group(0)) if n not in _NOT_NAMES]
        if names:
            return Signature(names[0]), "example_call"
    return None


def infer_task_shape(problem: str) -> TaskShape | None:
    """The runnable shape of ``problem``, or ``None`` when none can be determined.

    Order matters: Python starter code (HumanEval stub, ``class Solution``) is the strongest
    signal; then a contest statement (``Input``/``Output`` sections, stdin): it beats a named
    function because statements often define maths functions ("let f(x) be ..."); then a named
    function in prose or in example calls; then a short "program that reads ... prints" request.
    """
    language = detect_language(problem) or "python"
    entry = find_entry_point(problem)
    prose = strip_fences(problem, keep=("", "text", "plaintext", "txt", "python", "py"))
    evidence = _stdin_evidence(prose)
    if entry is not None:
        if entry.signature is None:
            return None
        if evidence == "stdin_statement" and not entry.signature.params:
            # "def solve():" under an Input/Output statement: a stdin program in a function
            return TaskShape("stdin", language, None, evidence)
        return TaskShape("function", language, entry.signature, entry.evidence)
    if evidence == "stdin_statement":
        return TaskShape("stdin", language, None, evidence)
    named = _named_function(prose)
    if named is not None:
        return TaskShape("function", language, named[0], named[1])
    if evidence is not None:
        return TaskShape("stdin", language, None, evidence)
    return None
