"""The detector's structural guardrails: how a request is built, before anything it says.

Each rule is a small named function over a ``RequestView`` returning ``(rule id, reason)`` or
``None``. ``STRUCTURAL`` rules are hard guardrails that ``force`` never overrides (tools, JSON
modes, non-text content, an oversized conversation, an output cap too small for a program...);
``sampling_conflict`` (``n > 1``, ``logprobs``) passes through in ``auto`` and is a 400 under
``force``. See ``detector.py`` for the order and the decision.
"""

from __future__ import annotations

from collections.abc import Callable

from proxy.detection.view import Hit, RequestView

__all__ = ["MAX_CONVERSATION_CHARS", "STRUCTURAL", "TINY_OUTPUT_BUDGET", "sampling_conflict"]


def _not_chat(view: RequestView) -> Hit | None:
    if view.has_prompt_or_suffix:
        return "legacy_completions", "completions or FIM body (prompt/suffix) sent to chat"
    if view.responses_shaped:
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
            return "unsupported_message", f"unsupported message role {m.role!r}"
        if m.has_non_text:
            return "non_text_content", "non-text content parts (images, audio, files)"
    return None


# NOTE: a self-contained task is a few thousand characters; agent transcripts run to hundreds of
# thousands. Capping what the content rules read keeps every request's detection in the
# low-millisecond range whatever a client sends.
MAX_CONVERSATION_CHARS = 32_000


def _size(view: RequestView) -> Hit | None:
    total = sum(len(m.text) for m in view.messages)
    if total > MAX_CONVERSATION_CHARS:
        return "oversized_prompt", f"conversation of {total} characters is no self-contained task"
    return None


# NOTE: 32 tokens hold a title or a one-line completion, not a program with its fence; clients
# cap the output this low only for such background work, whatever the prompt quotes (Continue's
# chat titles: 16 tokens, LibreChat's assistants titles: 20). Hard, so that an ``sstar/`` alias
# (force) still passes them through.
TINY_OUTPUT_BUDGET = 32


def _budget(view: RequestView) -> Hit | None:
    cap = view.max_output_tokens
    if cap is not None and cap <= TINY_OUTPUT_BUDGET:
        return "tiny_output_budget", f"output cap of {cap} tokens cannot hold a program"
    return None


STRUCTURAL: tuple[Callable[[RequestView], Hit | None], ...] = (
    _not_chat,
    _tools,
    _json_mode,
    _messages,
    _size,
    _budget,
)


def sampling_conflict(view: RequestView) -> tuple[Hit, str] | None:
    if view.n > 1:
        return ("n_gt_1", f"n={view.n} asks for several choices"), "n"
    if view.logprobs:
        return ("logprobs", "logprobs requested"), "logprobs"
    return None
