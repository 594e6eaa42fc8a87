"""Which language does a prompt ask for? Only Python runs in the sandbox; anything else passes.

``detect_language`` reports the *target* a prompt names ("in Rust", "a Java method", a ```cpp
starter block, foreign source code), not any mention: "the C++ version was too slow" is not a
request for C++. Deterministic regular expressions only (this runs on every chat request).
"""

from __future__ import annotations

import re

from proxy.detection.caseless import caseless
from proxy.fences import fenced_blocks, strip_fences

__all__ = ["detect_language"]

# Canonical name -> how prose names it (case-sensitive where a lower-case word is English).
_LANG_NAMES: dict[str, str] = {
    "python": r"[Pp]ython\s?3?|[Pp]y3",
    "cpp": r"C\+\+(?:1[147]|2[03])?|[Cc]pp",
    "csharp": r"C#|[Cc]sharp|\.NET",
    "java": r"Java(?!Script)|JAVA",
    "javascript": r"[Jj]ava[Ss]cript|Node\.?[Jj][Ss]",
    "typescript": r"[Tt]ype[Ss]cript",
    "rust": r"Rust",
    "go": r"Golang|golang",
    "kotlin": r"[Kk]otlin",
    "swift": r"Swift",
    "ruby": r"Ruby",
    "php": r"PHP|[Pp]hp",
    "scala": r"Scala",
    "haskell": r"[Hh]askell",
    "sql": r"SQL|MySQL|PostgreSQL|SQLite|T-SQL",
    "bash": r"[Bb]ash|[Ss]hell script|[Zz]sh|PowerShell",
    "lua": r"Lua",
    "perl": r"Perl",
    "dart": r"Dart",
    "julia": r"Julia",
    "elixir": r"Elixir",
    "html": r"HTML|CSS",
    "matlab": r"MATLAB|[Mm]atlab|Octave",
}
# One-or-two-letter names are ordinary variables in statements ("points in C", "with R rows"):
# they count only as "in C." / "using Go instead" or in front of a noun ("a C function").
_SHORT_NAMES: dict[str, str] = {"c": r"C", "r": r"R", "go": r"Go", "javascript": r"JS|Node"}
_TARGET_AFTER = (
    r"(?:function|program|code|solution|script|class|method|implementation|snippet|query|"
    r"one-liner|version|module|macro|struct|component|app|console app|command|equivalent)"
)
# One pass finds every language name; its neighbourhood then says whether it is a target.
_NAME = re.compile(
    r"(?=[PpCcJjNTtRGgKkSsHhBbZzLDEMmO.])(?<![\w.])(?:"  # NOTE: first-letter filter: 3x faster
    + "|".join(f"(?P<{lang}>{names})" for lang, names in _LANG_NAMES.items())
    + "|"
    + "|".join(f"(?P<short_{lang}>{names})" for lang, names in _SHORT_NAMES.items())
    + r")(?![\w+#])"
)
_BEFORE_LONG = re.compile(r"\b(?:in|using|with|into)\s+(?:(?:modern|idiomatic|plain|pure)\s+)?$")
_BEFORE_SHORT = re.compile(r"\b(?:in|using)\s+$")
_AFTER_NOUN = re.compile(rf"\s+{_TARGET_AFTER}s?\b")
_AFTER_SHORT = re.compile(
    r"\s*(?:[.,;:!?)]|$|\s(?:language|instead|please|only|that|which|to|for|with|and)\b)"
)


def _named_targets(prose: str) -> list[str]:
    """Languages named as a target: "in Rust", "using C.", "a Java method"."""
    found = []
    for m in _NAME.finditer(prose):
        group = m.lastgroup or ""
        short = group.startswith("short_")
        before = prose[max(0, m.start() - 24) : m.start()]
        after = prose[m.end() : m.end() + 40]
        preposition = (_BEFORE_SHORT if short else _BEFORE_LONG).search(before)
        if _AFTER_NOUN.match(after) or (preposition and (not short or _AFTER_SHORT.match(after))):
            found.append(group.removeprefix("short_"))
    return found


_FENCE_LANG: dict[str, str] = {
    **dict.fromkeys(("python", "py", "python3", "py3", "pycon"), "python"),
    **dict.fromkeys(("cpp", "c++", "cc", "cxx", "hpp"), "cpp"),
    **dict.fromkeys(("c", "h"), "c"),
    **dict.fromkeys(("cs", "csharp", "c#"), "csharp"),
    "java": "java",
    **dict.fromkeys(("js", "javascript", "jsx", "mjs", "node"), "javascript"),
    **dict.fromkeys(("ts", "typescript", "tsx"), "typescript"),
    **dict.fromkeys(("rust", "rs"), "rust"),
    **dict.fromkeys(("go", "golang"), "go"),
    **dict.fromkeys(("kotlin", "kt"), "kotlin"),
    **dict.fromkeys(("ruby", "rb"), "ruby"),
    **dict.fromkeys(("sh", "bash", "zsh", "shell", "console", "powershell", "ps1"), "bash"),
    **dict.fromkeys(("haskell", "hs"), "haskell"),
    **dict.fromkeys(("html", "css", "vue", "svelte"), "html"),
    **{x: x for x in ("swift", "php", "scala", "sql", "lua", "perl", "dart", "julia", "r")},
}
# Source-code fingerprints of other languages in unfenced text.
_FOREIGN_CODE = re.compile(
    r"#include\s*<|\bpublic\s+static\s+\w|\bstd::|\bfn\s+main\s*\(|\bfunc\s+main\s*\(|"
    r"\bconsole\.log\(|\bSystem\.out\.print|\bint\s+main\s*\(|\bpackage\s+main\b|"
    r"^[ \t]*SELECT\s+.+\s+FROM\s+\w|^#!/bin/(?:ba)?sh",
    re.MULTILINE,
)
# Codeforces boilerplate about C++ I/O is not a request for C++ (removed before matching).
_CF_IO_TOKEN = re.compile(r"%lld|%I64d|\bcin\b|\bcout\b|scanf|printf")
_CF_IO_NOTE = re.compile(
    r"^[^.\n]*?(?:%lld|%I64d|\bcin\b|\bcout\b|scanf|printf)[^.\n]*[.\n]?", re.M
)
_TO_PYTHON = caseless(
    r"\b(?:translate|convert|port|rewrite|rewritten|converted|translated)\b[^.\n]{0,80}"
    r"\b(?:to|into|in)\s+[Pp]ython\b"
)


def detect_language(text: str) -> str | None:
    """The target language a prompt names, or ``None`` when it names none.

    Only *targets* count ("in Rust", "a Java method", a ```cpp starter block), not any mention:
    "the C++ version was too slow" is not a request for C++. Several non-Python targets: the
    first wins. Python plus another language is Python only for "translate ... to Python".
    """
    found = [_FENCE_LANG[b.info] for b in fenced_blocks(text) if b.info in _FENCE_LANG]
    prose = strip_fences(text)
    if _CF_IO_TOKEN.search(prose):
        prose = _CF_IO_NOTE.sub(" ", prose)
    found += _named_targets(prose)
    if _FOREIGN_CODE.search(text):
        found.append("other")
    others = [lang for lang in found if lang != "python"]
    if not others:
        return "python" if found else None
    if _TO_PYTHON.search(prose):
        return "python"
    return others[0]
