"""A Responses request seen as a chat request, so that S* decides and runs exactly as for chat.

The chat path's detector (``proxy.detection``) and task building (``proxy.tasking``) read a chat
body. A Responses request whose input is plain text maps onto one without loss: ``instructions``
becomes the leading system message, an ``input`` string one user message, and a list of
``message`` items (roles ``user``, ``system``, ``developer``, ``assistant``; ``input_text`` and
``output_text`` parts) the same messages; ``max_output_tokens`` is the output cap,
``temperature``, ``top_p`` and ``user`` keep their chat names, and asking for log-probabilities
becomes ``logprobs``. Everything else the Responses API can say has no plain-chat equivalent and
makes S* unsafe, so it is a *blocker*, a hard guardrail that ``x-sstar-mode: force`` never
overrides (the request passes through): tools, tool traffic or other items in the input,
non-text parts, a continued or stored context (``previous_response_id``, ``conversation``,
``prompt``), structured output (``text.format`` JSON), and background mode. Rule ids reuse the
chat detector's where the reason is the same (``tools_present``, ``json_mode``,
``non_text_content``, ``unsupported_message``).

Never fails: anything unexpected in the client's JSON becomes a blocker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.detection.view import Hit

__all__ = ["ChatView", "chat_view"]

_ROLES = frozenset({"user", "system", "developer", "assistant"})
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
# Forwarded under the same name (proxy.tasking reads them from a chat body).
_SAME_NAME = ("model", "temperature", "top_p", "user")
_LOGPROBS_INCLUDE = "message.output_text.logprobs"


@dataclass(frozen=True, slots=True)
class ChatView:
    """The chat body S* reads (``body``), or why S* cannot apply to the request (``blocker``)."""

    body: Mapping[str, Any] = field(default_factory=dict)
    blocker: Hit | None = None


def _kind(item: object) -> str | None:
    value = item.get("type") if isinstance(item, Mapping) else None
    return value if isinstance(value, str) else None


def _item_blocker(kind: str | None) -> Hit:
    if kind is not None and (kind.endswith("_call") or kind.endswith("_call_output")):
        return "tools_present", f"input carries tool traffic (a {kind} item)"
    return "unsupported_message", f"input carries a {kind or 'non-message'} item"


def _content(content: object) -> str | Hit:
    """The text of a message's content, or the blocker its parts raise."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return "unsupported_message", "a message without text content"
    texts = []
    for part in content:
        kind = _kind(part)
        if kind not in _TEXT_PARTS or not isinstance(part, Mapping):
            return "non_text_content", f"non-text content ({kind or 'unknown'} part)"
        text = part.get("text")
        if not isinstance(text, str):
            return "unsupported_message", "a text part without text"
        texts.append(text)
    return "\n".join(texts)


def _messages(items: object) -> list[dict[str, str]] | Hit:
    """Chat messages from ``input``: a string, or a list of plain-text message items."""
    if items is None:
        return []
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        return "unsupported_message", "input is neither text nor a list of items"
    out = []
    for item in items:
        kind = _kind(item)
        if not isinstance(item, Mapping) or kind not in (None, "message"):
            return _item_blocker(kind)
        role = item.get("role")
        if role not in _ROLES:
            return "unsupported_message", f"unsupported message role {role!r}"
        text = _content(item.get("content"))
        if isinstance(text, tuple):
            return text
        out.append({"role": str(role), "content": text})
    return out


def _request_blocker(body: Mapping[str, Any]) -> Hit | None:
    """Fields that make S* unsafe whatever the input says."""
    if body.get("tools") or body.get("tool_choice") not in (None, "none", "auto"):
        return "tools_present", "request declares tools (agent tool loop)"
    for name in ("previous_response_id", "conversation", "prompt"):
        if body.get(name):
            return "stored_context", f"continues a stored context ({name})"
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    fmt_type = _kind(fmt)
    if fmt_type is not None and fmt_type != "text":
        return "json_mode", f"text.format {fmt_type} (structured output)"
    if body.get("background") is True:
        return "background_response", "background response (polled, not answered)"
    return None


def _wants_logprobs(body: Mapping[str, Any]) -> bool:
    top = body.get("top_logprobs")
    include = body.get("include")
    asked = isinstance(top, int) and not isinstance(top, bool) and top > 0
    return asked or (isinstance(include, list) and _LOGPROBS_INCLUDE in include)


def chat_view(body: Mapping[str, Any]) -> ChatView:
    """The chat-shaped view of a parsed Responses body (see the module docstring)."""
    if blocker := _request_blocker(body):
        return ChatView(blocker=blocker)
    messages = _messages(body.get("input"))
    if isinstance(messages, tuple):
        return ChatView(blocker=messages)
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.insert(0, {"role": "system", "content": instructions})
    elif instructions is not None and not isinstance(instructions, str):
        return ChatView(blocker=("unsupported_message", "instructions that are not text"))
    chat: dict[str, Any] = {name: body[name] for name in _SAME_NAME if name in body}
    chat["messages"] = messages
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    if _wants_logprobs(body):
        chat["logprobs"] = True
    return ChatView(body=chat)
