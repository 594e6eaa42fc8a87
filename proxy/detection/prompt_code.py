"""Reading the code inside a prompt (not a model's answer): ``def``/``class`` headers, stub or body.

Used by ``shape.py`` (which function is the entry point of the starter code?) and by the content
rules (does the prompt *give* finished code, i.e. ask about existing code rather than for new
code?). A line scanner instead of ``ast``: starter code has stub bodies (``def f(x):`` followed by
nothing or a docstring) that do not parse, and prompts mix prose and code freely. Fences are read
by ``proxy.fences``, the one fence parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy.fences import PYTHON_INFOS, fenced_blocks, strip_fences
from proxy.scaling.types import Signature

__all__ = [
    "EntryPoint",
    "FunctionDef",
    "find_entry_point",
    "has_implemented_code",
    "prose_of",
    "scan_functions",
    "split_params",
]

_DATA_INFOS = frozenset({"text", "txt", "plaintext", "json", "output"})

_DEF = re.compile(r"(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")
_CLASS = re.compile(r"class\s+([A-Za-z_]\w*)\s*[(:]")
_TRIVIAL = re.compile(
    r"^(?:pass|\.\.\.|#.*|raise NotImplementedError.*|return\s*(?:None)?|"
    r"(?:[rbuRBU]{0,2})(?:\"\"\"|''').*|[\"'].*[\"'])$"
)
# LeetCode node types are built by its hidden harness; JSON arguments cannot construct them.
_NODE_TYPES = re.compile(r"\b(?:ListNode|TreeNode|Node|NestedInteger|Employee|Interval)\b")
# A line of a Python script without defs ("n = int(input())", "print(x)"); sample data never is.
_PY_STATEMENT = re.compile(
    r"^[ \t]*(?!assert\b|>>>)(?:[A-Za-z_][\w.\[\], ]*[+\-*/%|&]?=(?!=)|print\(|import |from \w|"
    r"for \w.* in |while |if .*:|return\b|[A-Za-z_][\w.]*\(.*\)[ \t]*$)",
    re.M,
)
_CODE_TOKEN = re.compile(
    r"^[ \t]*(?:def |class |import |from \w+ import|return\b|for .+ in |while .+:|if .+:|"
    r"#include|public |private |function\b|const |let |var |fn |func |SELECT\b)|[;{}][ \t]*$",
    re.M,
)


@dataclass(frozen=True, slots=True)
class FunctionDef:
    """One ``def`` found in a prompt: where it lives and whether it still needs a body."""

    name: str
    params_src: str
    returns_src: str
    class_name: str | None
    is_stub: bool
    top_level: bool


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """The stubbed function a prompt's starter code asks for.

    ``signature`` is ``None`` when starter code exists but cannot be run by calling one function
    with JSON arguments (a design class with several methods, linked-list/tree node types).
    """

    signature: Signature | None
    evidence: str
    why_not: str = ""


def _python_sources(text: str) -> list[str]:
    """Python-looking regions: fenced Python (or unlabelled) blocks, and the unfenced rest."""
    blocks = [block.body for block in fenced_blocks(text) if block.info in PYTHON_INFOS]
    return [*blocks, strip_fences(text)]


def _header_end(lines: list[str], start: int) -> tuple[int, str, str] | None:
    """Line index where the ``def`` header starting at ``start`` ends, its params and rest."""
    chunk = ""
    for j in range(start, min(start + 30, len(lines))):
        chunk += lines[j] + "\n"
        if chunk.count("(") <= chunk.count(")"):  # parameters closed: the header ends here
            opened = chunk.index("(")
            close = _matching_paren(chunk, opened)
            return j, chunk[opened + 1 : close], chunk[close + 1 :].strip()
    return None


def _matching_paren(text: str, opened: int) -> int:
    depth = 0
    for k in range(opened, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return k
    return len(text) - 1  # pragma: no cover - callers pass balanced parentheses


def _is_stub(lines: list[str], header_end: int, indent: int, rest: str) -> bool:
    """True when nothing but docstrings, comments, ``pass`` or ``...`` follows the header."""
    inline = rest.split(":", 1)[1].strip() if ":" in rest else ""
    if inline and not _TRIVIAL.match(inline):
        return False
    in_doc = ""
    for k in range(header_end + 1, len(lines)):  # NOTE: no slicing: O(n) per def, not O(n^2)
        line = lines[k]
        stripped = line.strip()
        if not stripped:
            continue
        if len(line) - len(line.lstrip()) <= indent and not in_doc:
            return True
        if in_doc:
            in_doc = "" if in_doc in stripped else in_doc
            continue
        quote = next((q for q in ('"""', "'''") if stripped.lstrip("rbuRBU").startswith(q)), "")
        if quote and stripped.count(quote) == 1:
            in_doc = quote
        elif not _TRIVIAL.match(stripped):
            return False
    return True


def scan_functions(source: str) -> list[FunctionDef]:
    """Every ``def`` in ``source``, with its enclosing class and whether it is a stub."""
    lines = source.splitlines()
    classes: list[tuple[int, str]] = []
    found: list[FunctionDef] = []
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        while classes and indent <= classes[-1][0]:
            classes.pop()
        if m := _CLASS.match(stripped):
            classes.append((indent, m.group(1)))
        elif (m := _DEF.match(stripped)) and (header := _header_end(lines, i)):
            end, params, rest = header
            owner = classes[-1][1] if classes and indent > classes[-1][0] else None
            stub = _is_stub(lines, end, indent, rest)
            found.append(FunctionDef(m.group(1), params, rest, owner, stub, indent == 0))
    return found


def split_params(raw: str) -> tuple[str, ...]:
    """Parameter names from ``a: int, b=2, *args`` (annotations and defaults dropped)."""
    names: list[str] = []
    depth, current = 0, ""
    for ch in raw + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            name = re.split(r"[:=]", current, maxsplit=1)[0].strip().lstrip("*")
            if re.fullmatch(r"[A-Za-z_]\w*", name) and name not in {"self", "cls"}:
                names.append(name)
            current = ""
        else:
            current += ch
    return tuple(names)


def find_entry_point(text: str) -> EntryPoint | None:
    """The stub a client wants written, or ``None`` when the prompt has no starter code.

    HumanEval prompts may define helpers with bodies before the stub; the stub wins, and of
    several stubs the last top-level one (HumanEval) or the ``class Solution`` method
    (LeetCode). Stubs in another class are a design problem, which one call cannot test.
    """
    for source in _python_sources(text):
        stubs = [f for f in scan_functions(source) if f.is_stub]
        if not stubs:
            continue
        solution = [f for f in stubs if f.class_name == "Solution"]
        plain = [f for f in stubs if f.class_name is None]
        if not solution and not plain:
            return EntryPoint(None, "stub", "starter code is a class design problem")
        chosen = solution[0] if solution else plain[-1]
        if _NODE_TYPES.search(chosen.params_src + chosen.returns_src):
            return EntryPoint(None, "stub", "signature uses linked-list/tree node types")
        sig = Signature(
            chosen.name, split_params(chosen.params_src), chosen.class_name, source.strip("\n")
        )
        return EntryPoint(sig, "leetcode" if chosen.class_name else "stub")
    return None


def has_implemented_code(text: str) -> bool:
    """Does the prompt carry finished code (a function with a body, or foreign-language code)?

    That marks a request *about* given code (explain, review, refactor, fix) rather than a fresh
    task, unless starter stubs are present too (HumanEval helpers have bodies).
    """
    for block in fenced_blocks(text):
        if block.info not in PYTHON_INFOS and block.info not in _DATA_INFOS:
            return True
        body = block.body
        if not scan_functions(body) and (
            len(_CODE_TOKEN.findall(body)) >= 2 or len(_PY_STATEMENT.findall(body)) >= 2
        ):
            return True
    return any(not f.is_stub for src in _python_sources(text) for f in scan_functions(src))


def prose_of(text: str) -> str:
    """The words around the code: fences dropped, indented and code-looking lines dropped."""
    kept = []
    for line in strip_fences(text).splitlines():
        if line[:1].isspace() or _CODE_TOKEN.match(line) or line.lstrip().startswith(("@", "#")):
            continue
        kept.append(line)
    return "\n".join(kept)
