"""Should S* answer this request? The detector (OPENAI_API.md §9, SSTAR.md §3).

Input: a ``RequestView``, the few facts of a request the decision needs, built by the API layer
from the raw JSON body (``view_from_body``), plus the resolved mode. Output: a ``Decision`` with
a stable ``rule`` id and a human reason (for ``x-sstar-reason`` and logs), the task shape and the
problem text when S* applies.

A wrong S* on an agent's tool loop breaks the client; a missed S* only costs accuracy, so every
doubt passes through. Rules run in a fixed order, cheapest and hardest first:

1. ``mode_off``.
2. Hard guardrails, never overridden by ``force``: ``embeddings_endpoint``,
   ``legacy_completions``, ``responses_shaped``, ``tools_present``, ``json_mode``,
   ``no_user_message``, ``non_text_content``, ``background_task``, ``agent_prompt``,
   ``edit_format``, ``other_language``.
3. ``n_gt_1`` / ``logprobs``: pass-through in ``auto``; under ``force`` they become
   ``force_conflict`` (``apply=False``, ``param`` set) so the caller answers 400.
4. The coding-task judgement, which ``force`` overrides (``rule="forced"``): ``follow_up_edit``,
   ``explanation_request``, ``given_code``, ``not_self_contained``, ``no_runnable_task``,
   ``not_code_task``. ``explicit_tests`` (tests in the body extension) is an opt-in that
   overrides only ``no_runnable_task``.
5. Otherwise ``coding_task``.

Problem text: the last user message. A system/developer message is prepended only when the user
message alone has no runnable shape and the two together do ("solve the problem below" in the
user turn, the statement in the system prompt). Forced follow-ups use every user turn, so the
judge still sees the original task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proxy.scaling.detect_patterns import (
    ABOUT_CODE,
    AGENT_PROMPTS,
    BACKGROUND_TASKS,
    BACKREF,
    CODE_FENCE_OR_DEF,
    CODE_WORD,
    EDIT_FORMATS,
    QUESTION,
    SIDE_EFFECTS,
    TASK_VERB,
    first_match,
)
from proxy.scaling.detect_view import Endpoint, Mode, RequestView, ViewMessage, view_from_body
from proxy.scaling.shape import TaskShape, detect_language, infer_task_shape
from proxy.scaling.shape_code import fenced_blocks, has_implemented_code, prose_of

__all__ = [
    "FORCEABLE_RULES",
    "HARD_RULES",
    "Decision",
    "Endpoint",
    "Mode",
    "RequestView",
    "ViewMessage",
    "detect",
    "view_from_body",
]

HARD_RULES = frozenset(
    [
        "embeddings_endpoint",
        "legacy_completions",
        "responses_shaped",
        "tools_present",
        "json_mode",
        "no_user_message",
        "non_text_content",
        "background_task",
        "agent_prompt",
        "edit_format",
        "other_language",
        "n_gt_1",
        "logprobs",
        "force_conflict",
    ]
)
FORCEABLE_RULES = frozenset(
    [
        "follow_up_edit",
        "explanation_request",
        "given_code",
        "not_self_contained",
        "no_runnable_task",
        "not_code_task",
    ]
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a request, and why.

    ``apply`` says whether S* runs. ``rule`` is a stable id (see the module docstring);
    ``reason`` is for humans. ``shape`` and ``problem`` are set whenever a task was read
    (``shape`` may be ``None`` for ``forced``/``explicit_tests``: the caller then picks the
    kind from the explicit tests or asks the engine for an untested program). ``param`` names
    the offending request field of a ``force_conflict`` (``"n"`` or ``"logprobs"``).
    """

    apply: bool
    rule: str
    reason: str
    shape: TaskShape | None = None
    problem: str | None = None
    param: str | None = None


Hit = tuple[str, str]  # (rule id, reason)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the content rules look at, computed once per request."""

    view: RequestView
    problem: str
    prose: str
    shape: TaskShape | None
    language: str | None
    texts: tuple[str, ...]


# --- hard guardrails on the request's structure ------------------------------------------------


def _endpoint(view: RequestView) -> Hit | None:
    if view.endpoint == "embeddings":
        return "embeddings_endpoint", "embeddings request"
    if view.endpoint == "completions" or view.has_prompt_or_suffix:
        return "legacy_completions", "legacy /v1/completions or FIM request (prompt/suffix)"
    if view.endpoint == "responses" or view.responses_shaped:
        return "responses_shaped", "Responses-API-shaped body (agent tool mode)"
    return None


def _tools(view: RequestView) -> Hit | None:
    if view.has_tools or view.has_tool_choice or view.has_functions:
        return "tools_present", "request declares tools/functions (agent tool loop)"
    for m in view.messages:
        if m.role in {"tool", "function"} or m.has_tool_calls or m.has_tool_call_id:
            return "tools_present", f"conversation carries tool traffic ({m.role} message)"
    return None


def _json_mode(view: RequestView) -> Hit | None:
    if view.response_format_type in {"json_object", "json_schema"}:
        return "json_mode", f"response_format {view.response_format_type} (structured output)"
    return None


def _messages(view: RequestView) -> Hit | None:
    if not view.messages or view.messages[-1].role != "user":
        return "no_user_message", "last message is not a user turn (nothing fresh to answer)"
    for m in view.messages:
        if m.role not in {"system", "developer", "user", "assistant"}:
            return "no_user_message", f"unsupported message role {m.role!r}"
        if m.has_non_text:
            return "non_text_content", "non-text content parts (images, audio, files)"
    return None


_STRUCTURAL: tuple[Callable[[RequestView], Hit | None], ...] = (
    _endpoint,
    _tools,
    _json_mode,
    _messages,
)


# --- hard guardrails on the content -----------------------------------------------------------


def _background(f: _Facts) -> Hit | None:
    name = first_match(BACKGROUND_TASKS, f.texts)
    return ("background_task", f"background task template ({name})") if name else None


def _agent(f: _Facts) -> Hit | None:
    name = first_match(AGENT_PROMPTS, f.texts)
    return ("agent_prompt", f"agent protocol in the prompt ({name})") if name else None


def _edit(f: _Facts) -> Hit | None:
    name = first_match(EDIT_FORMATS, f.texts)
    return ("edit_format", f"client expects an edit format ({name})") if name else None


def _language(f: _Facts) -> Hit | None:
    if f.language in {None, "python"}:
        return None
    return "other_language", f"target language is {f.language}, the sandbox runs Python only"


_HARD_CONTENT: tuple[Callable[[_Facts], Hit | None], ...] = (
    _background,
    _agent,
    _edit,
    _language,
)


def _sampling(view: RequestView) -> tuple[Hit, str] | None:
    if view.n > 1:
        return ("n_gt_1", f"n={view.n} asks for several choices"), "n"
    if view.logprobs:
        return ("logprobs", "logprobs requested"), "logprobs"
    return None


# --- the coding-task judgement (overridable by force) -----------------------------------------


def _follow_up(f: _Facts) -> Hit | None:
    """A later turn about code the assistant already wrote ("now make it faster")."""
    history = f.view.messages[:-1]
    if not any(m.role == "assistant" and CODE_FENCE_OR_DEF.search(m.text) for m in history):
        return None
    last = f.view.messages[-1].text
    if BACKREF.search(prose_of(last)) or infer_task_shape(last) is None:
        return "follow_up_edit", "follow-up turn about code from an earlier answer"
    return None


def _question(f: _Facts) -> Hit | None:
    first = f.prose.strip().split("\n", 1)[0]
    if QUESTION.match(first) and not TASK_VERB.search(first):
        return "explanation_request", "a question about code or concepts, not a request for code"
    return None


def _given_code(f: _Facts) -> Hit | None:
    if not has_implemented_code(f.problem):
        return None
    stubbed = f.shape is not None and f.shape.evidence in {"stub", "leetcode"}
    if stubbed and not ABOUT_CODE.search(f.prose):
        return None
    return "given_code", "the request is about given code (explain, review, refactor, fix)"


def _side_effects(f: _Facts) -> Hit | None:
    if f.shape is None or f.shape.evidence == "stdin_statement":
        return None
    name = first_match(
        SIDE_EFFECTS,
        (f.prose, f.shape.signature.starter_code or "") if f.shape.signature else (f.prose,),
    )
    return (
        ("not_self_contained", f"program would need the outside world ({name})") if name else None
    )


def _no_shape(f: _Facts) -> Hit | None:
    if f.shape is not None or f.view.explicit_tests:
        return None
    if CODE_WORD.search(f.problem) or fenced_blocks(f.problem):
        return "no_runnable_task", "no signature, stdin statement or examples to run"
    return "not_code_task", "not a code-generation request"


_JUDGEMENT: tuple[Callable[[_Facts], Hit | None], ...] = (
    _follow_up,
    _question,
    _given_code,
    _side_effects,
    _no_shape,
)


# --- assembly ---------------------------------------------------------------------------------


def _problem_text(view: RequestView) -> str:
    """The last user message, with the system prompt prepended only when it carries the task."""
    user = view.messages[-1].text
    if infer_task_shape(user) is not None:
        return user
    system = "\n\n".join(m.text for m in view.messages if m.role in {"system", "developer"})
    if system and len(user) < 400 and infer_task_shape(f"{system}\n\n{user}") is not None:
        return f"{system}\n\n{user}"
    return user


def _facts(view: RequestView) -> _Facts:
    problem = _problem_text(view)
    language = detect_language(problem)
    if language is None:  # a system prompt may fix the language ("answer in Rust")
        system = [m.text for m in view.messages if m.role in {"system", "developer"}]
        language = next((lang for lang in map(detect_language, system) if lang), None)
    return _Facts(
        view=view,
        problem=problem,
        prose=prose_of(problem),
        shape=infer_task_shape(problem),
        language=language,
        texts=tuple(m.text for m in view.messages),
    )


def _forced(facts: _Facts, hit: Hit) -> Decision:
    problem = facts.problem
    if hit[0] == "follow_up_edit":
        problem = "\n\n".join(m.text for m in facts.view.messages if m.role == "user")
    reason = f"forced; the detector alone would pass through: {hit[1]}"
    return Decision(True, "forced", reason, facts.shape, problem)


def detect(view: RequestView) -> Decision:
    """Decide between S* and pass-through; see the module docstring for the rule order."""
    if view.mode == "off":
        return Decision(False, "mode_off", "S* disabled for this request (mode off)")
    for structural in _STRUCTURAL:
        if hit := structural(view):
            return Decision(False, *hit)
    facts = _facts(view)
    for content in _HARD_CONTENT:
        if hit := content(facts):
            return Decision(False, *hit, facts.shape, facts.problem)
    if conflict := _sampling(view):
        (rule, reason), param = conflict
        if view.mode == "force":
            return Decision(False, "force_conflict", f"cannot force S*: {reason}", param=param)
        return Decision(False, rule, reason, facts.shape, facts.problem)
    for judgement in _JUDGEMENT:
        if hit := judgement(facts):
            if view.mode == "force":
                return _forced(facts, hit)
            return Decision(False, *hit, facts.shape, facts.problem)
    if facts.shape is None:
        return Decision(True, "explicit_tests", "explicit tests supplied", None, facts.problem)
    reason = f"self-contained Python {facts.shape.kind} task ({facts.shape.evidence})"
    return Decision(True, "coding_task", reason, facts.shape, facts.problem)
