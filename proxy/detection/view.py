"""The detector's frozen view of a request, and how to build it from a raw JSON body.

The detector must not see wire models (``proxy.detection`` imports no FastAPI/pydantic), and it
needs only a handful of facts of a chat request: the text of each message, and whether anything
about the request makes S* unsafe (tools, JSON modes, several choices...). ``view_from_body``
reads those facts from the parsed JSON with plain ``dict`` access and never fails: anything
unexpected becomes a flag that leads to pass-through. Only chat requests reach the detector:
``/v1/completions`` and ``/v1/embeddings`` are pass-through by route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proxy.scaling.types import Mode

__all__ = ["Hit", "RequestView", "ViewMessage", "view_from_body"]

Hit = tuple[str, str]
"""What a rule found: ``(rule id, reason)``; rules return ``None`` when they do not fire."""

# Content-part and item types of the Responses API; seen in a chat body they mean Cursor's
# tool mode sent a Responses-shaped request to /chat/completions.
_RESPONSES_TYPES = frozenset(
    {"input_text", "output_text", "message", "function_call", "function_call_output", "reasoning"}
)


@dataclass(frozen=True, slots=True)
class ViewMessage:
    """One message as the detector sees it.

    ``text`` joins the message's text parts; ``has_non_text`` flags any other part (image,
    audio, file). ``has_tool_calls`` covers assistant ``tool_calls`` and the legacy
    ``function_call``; ``has_tool_call_id`` a ``tool_call_id`` on any message.
    """

    role: str
    text: str = ""
    has_non_text: bool = False
    has_tool_calls: bool = False
    has_tool_call_id: bool = False


@dataclass(frozen=True, slots=True)
class RequestView:
    """The facts of one request that decide between S* and pass-through.

    ``mode`` is already resolved by the caller (header > body extension > alias > settings);
    ``explicit_tests`` is true when the body extension carries public tests (an opt-in).
    ``max_output_tokens`` is the client's own output cap (the smaller of ``max_tokens`` and
    ``max_completion_tokens``), ``None`` when it set none.
    """

    messages: tuple[ViewMessage, ...] = ()
    has_tools: bool = False
    has_tool_choice: bool = False
    has_functions: bool = False
    response_format_type: str | None = None
    n: int = 1
    logprobs: bool = False
    max_output_tokens: int | None = None
    has_prompt_or_suffix: bool = False
    responses_shaped: bool = False
    mode: Mode = "auto"
    explicit_tests: bool = False


def _type_of(item: object) -> str | None:
    """The ``type`` of a part or item, when it is a string (never trust client JSON)."""
    kind = item.get("type") if isinstance(item, Mapping) else None
    return kind if isinstance(kind, str) else None


def _message(raw: object) -> tuple[ViewMessage, bool]:
    """A ``ViewMessage`` and whether the raw message looked like a Responses-API item."""
    if not isinstance(raw, Mapping):
        return ViewMessage(role="unknown", has_non_text=True), False
    content = raw.get("content")
    texts: list[str] = []
    non_text = responses_like = False
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for part in content:
            kind = _type_of(part)
            responses_like |= kind in _RESPONSES_TYPES
            if kind in {"text", "input_text", "output_text"} and isinstance(part, Mapping):
                texts.append(str(part.get("text", "")))
            else:
                non_text = True
    elif content is not None:
        non_text = True
    responses_like |= _type_of(raw) in _RESPONSES_TYPES or "role" not in raw
    message = ViewMessage(
        role=str(raw.get("role", "unknown")),
        text="\n".join(texts),
        has_non_text=non_text,
        has_tool_calls=bool(raw.get("tool_calls") or raw.get("function_call")),
        has_tool_call_id="tool_call_id" in raw,
    )
    return message, responses_like


def _n(body: Mapping[str, object]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) else 1


def _max_output_tokens(body: Mapping[str, object]) -> int | None:
    """The client's output cap: ``max_tokens`` (deprecated) or ``max_completion_tokens``."""
    caps = [
        cap
        for cap in (body.get("max_tokens"), body.get("max_completion_tokens"))
        if isinstance(cap, int) and not isinstance(cap, bool)
    ]
    return min(caps) if caps else None


def view_from_body(
    body: Mapping[str, object], *, mode: Mode = "auto", explicit_tests: bool = False
) -> RequestView:
    """Build the view from a parsed chat request body (a JSON object)."""
    raw_messages = body.get("messages")
    parsed = [_message(m) for m in raw_messages] if isinstance(raw_messages, list) else []
    response_format = body.get("response_format")
    format_type = response_format.get("type") if isinstance(response_format, Mapping) else None
    responses_shaped = (
        ("input" in body and "messages" not in body)
        or "instructions" in body
        or "previous_response_id" in body
        or any(like for _, like in parsed)
    )
    return RequestView(
        messages=tuple(m for m, _ in parsed),
        has_tools=bool(body.get("tools")),
        has_tool_choice=body.get("tool_choice") not in (None, "none"),
        has_functions=bool(body.get("functions") or body.get("function_call")),
        response_format_type=str(format_type) if format_type is not None else None,
        n=_n(body),
        logprobs=bool(body.get("logprobs")),
        max_output_tokens=_max_output_tokens(body),
        has_prompt_or_suffix="prompt" in body or "suffix" in body,
        responses_shaped=responses_shaped,
        mode=mode,
        explicit_tests=explicit_tests,
    )
