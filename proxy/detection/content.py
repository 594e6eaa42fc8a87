"""The detector's content rules: what the messages say, as opposed to how the request is built.

``gather_facts`` reads the problem text, its shape and target language once; the rules are small
named functions over those ``Facts`` returning ``(rule id, reason)`` or ``None``. ``HARD_CONTENT``
rules are guardrails (a client protocol or a language the sandbox cannot run); ``JUDGEMENT``
rules decide whether this is a fresh self-contained coding task, which ``force`` may override.
See ``detector.py`` for the order and the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proxy.detection.fingerprints import (
    ABOUT_CODE,
    ABOUT_EXISTING,
    AGENT_PROMPTS,
    BACKGROUND_TASKS,
    BACKREF,
    CODE_FENCE_OR_DEF,
    CODE_WORD,
    CONTINUE_CHAT_RULES,
    EDIT_FORMATS,
    EXPLAIN_ONLY,
    FIM_SENTINELS,
    NO_CODE,
    QUESTION,
    SIDE_EFFECTS,
    TASK_VERB,
    TRANSCRIPT_ASSISTANT,
    TRANSCRIPT_USER,
    first_match,
)
from proxy.detection.language import detect_language
from proxy.detection.prompt_code import has_implemented_code, prose_of
from proxy.detection.shape import TaskShape, infer_task_shape
from proxy.detection.view import Hit, RequestView
from proxy.fences import fenced_blocks

__all__ = ["HARD_CONTENT", "JUDGEMENT", "Facts", "gather_facts"]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the content rules look at, computed once per request."""

    view: RequestView
    problem: str
    prose: str
    shape: TaskShape | None
    user_shape: TaskShape | None
    language: str | None
    texts: tuple[str, ...]


# --- hard guardrails on the content -----------------------------------------------------------


def _background(f: Facts) -> Hit | None:
    if name := first_match(BACKGROUND_TASKS, f.texts):
        return "background_task", f"background task template ({name})"
    last = f.view.messages[-1].text
    if TRANSCRIPT_USER.search(last) and TRANSCRIPT_ASSISTANT.search(last):
        return "background_task", "the request embeds a conversation transcript (transcript)"
    return None


def _agent(f: Facts) -> Hit | None:
    name = first_match(AGENT_PROMPTS, f.texts)
    return ("agent_prompt", f"agent protocol in the prompt ({name})") if name else None


def _edit(f: Facts) -> Hit | None:
    if any(FIM_SENTINELS.search(text) for text in f.texts):
        return "edit_format", "client expects an edit format (fim_tokens)"
    name = first_match(EDIT_FORMATS, f.texts)
    return ("edit_format", f"client expects an edit format ({name})") if name else None


def _language(f: Facts) -> Hit | None:
    if f.language in {None, "python"}:
        return None
    return "other_language", f"target language is {f.language}, the sandbox runs Python only"


HARD_CONTENT: tuple[Callable[[Facts], Hit | None], ...] = (
    _background,
    _agent,
    _edit,
    _language,
)


# --- the coding-task judgement (overridable by force) -----------------------------------------


def _follow_up(f: Facts) -> Hit | None:
    """A later turn about code the assistant already wrote ("now make it faster")."""
    history = f.view.messages[:-1]
    if not any(m.role == "assistant" and CODE_FENCE_OR_DEF.search(m.text) for m in history):
        return None
    last = f.view.messages[-1].text
    if BACKREF.search(prose_of(last)) or f.user_shape is None:
        return "follow_up_edit", "follow-up turn about code from an earlier answer"
    return None


def _question(f: Facts) -> Hit | None:
    """Asked *about* code or a problem: the first line, or a closing question when no line
    asks for code ("<statement> What is the complexity of the best solution?")."""
    lines = [line for line in f.prose.strip().splitlines() if line.strip()] or [""]
    first, last = lines[0][:300], lines[-1].strip()[-300:]
    if QUESTION.match(first) and not TASK_VERB.search(first):
        return "explanation_request", "a question about code or concepts, not a request for code"
    if last.endswith("?") and QUESTION.match(last) and not TASK_VERB.search(f.prose):
        return "explanation_request", "the request ends in a question, not a request for code"
    if NO_CODE.search(f.prose):
        return "explanation_request", "the user asks for an explanation, not for code"
    return None


def _explain_only(f: Facts) -> Hit | None:
    """The client's own instructions ask for teaching, not for a program (a tutor persona)."""
    instructions = tuple(m.text for m in f.view.messages if m.role != "assistant")
    if name := first_match(EXPLAIN_ONLY, instructions):
        return "explanation_request", f"the client's instructions ask for teaching ({name})"
    return None


def _given_code(f: Facts) -> Hit | None:
    """Asks about existing code: finished code in the prompt, or tests/docs for a function."""
    if ABOUT_EXISTING.search(f.prose):
        return "given_code", "asks for tests, docs or comments for existing code"
    if not has_implemented_code(f.problem):
        return None
    stubbed = f.shape is not None and f.shape.evidence in {"stub", "leetcode"}
    if stubbed and not ABOUT_CODE.search(f.prose):
        return None
    return "given_code", "the request is about given code (explain, review, refactor, fix)"


def _side_effects(f: Facts) -> Hit | None:
    if f.shape is None or f.shape.strong:  # benchmark-style prompts are pure by construction
        return None
    name = first_match(
        SIDE_EFFECTS,
        (f.prose, f.shape.signature.starter_code or "") if f.shape.signature else (f.prose,),
    )
    return (
        ("not_self_contained", f"program would need the outside world ({name})") if name else None
    )


def _no_shape(f: Facts) -> Hit | None:
    if f.shape is not None or f.view.explicit_tests:
        return None
    if CODE_WORD.search(f.problem) or fenced_blocks(f.problem):
        return "no_runnable_task", "no signature, stdin statement or examples to run"
    return "not_code_task", "not a code-generation request"


JUDGEMENT: tuple[Callable[[Facts], Hit | None], ...] = (
    _follow_up,
    _question,
    _explain_only,
    _given_code,
    _side_effects,
    _no_shape,
)


# --- gathering --------------------------------------------------------------------------------


_SYSTEM = frozenset({"system", "developer"})


def _neutral(text: str) -> str:
    """A system prompt without client boilerplate that only says how to format *edits* when
    asked for them (Continue's chat mode); a fresh task under it is still a fresh task."""
    return CONTINUE_CHAT_RULES.sub("", text) if "<important_rules>" in text else text


def _system_texts(view: RequestView) -> list[str]:
    return [_neutral(m.text) for m in view.messages if m.role in _SYSTEM]


def _problem_text(view: RequestView) -> tuple[str, TaskShape | None, TaskShape | None]:
    """The problem, its shape and the shape of the last user message alone.

    The problem is the last user message, with the system prompt prepended only when the
    user message alone has no shape and the two together do (the statement lives in the
    system prompt, the user turn says "solve it").
    """
    user = view.messages[-1].text
    user_shape = infer_task_shape(user)
    system = "\n\n".join(text for text in _system_texts(view) if text.strip())
    if user_shape is None and system and len(user) < 400:
        combined = f"{system}\n\n{user}"
        if (shape := infer_task_shape(combined)) is not None:
            return combined, shape, user_shape
    return user, user_shape, user_shape


def gather_facts(view: RequestView) -> Facts:
    problem, shape, user_shape = _problem_text(view)
    language = detect_language(problem)
    if language is None:  # a system prompt may fix the language ("answer in Rust")
        language = next((lang for lang in map(detect_language, _system_texts(view)) if lang), None)
    return Facts(
        view=view,
        problem=problem,
        prose=prose_of(problem),
        shape=shape,
        user_shape=user_shape,
        language=language,
        texts=tuple(_neutral(m.text) if m.role in _SYSTEM else m.text for m in view.messages),
    )
