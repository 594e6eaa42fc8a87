"""The seam between the S* engine and whatever model answers: one chat call in, choices out.

The engine only ever needs plain-text chat completions, so the request is a small frozen value,
not the OpenAI wire model. Implementations translate provider errors into the ``proxy.errors``
tree (``UpstreamError`` and subclasses, keeping the upstream's ``Retry-After`` and
``x-should-retry``) and make one attempt per call: the engine retries, in one place
(``proxy.scaling.context.RunContext.call``), where the run's breaker can stop it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["system", "developer", "user", "assistant"]
Purpose = Literal["sample", "debug", "synthesis", "distinguish", "judge"]


@dataclass(frozen=True, slots=True)
class Message:
    """One text chat message."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one upstream call (all choices together)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """A chat completion request as the engine makes it.

    ``extra`` carries client sampling fields that are harmless to forward to sub-calls
    (``top_p``, penalties, ``logit_bias``, ``user``...). ``purpose`` labels the call in traces
    and logs.
    ``timeout_s`` bounds the call (the engine sets it to the time its run has left).
    """

    model: str
    messages: tuple[Message, ...]
    n: int = 1
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    purpose: Purpose = "sample"
    timeout_s: float | None = None
    top_logprobs: int | None = None  # ask for the likeliest tokens at each generated position


@dataclass(frozen=True, slots=True)
class Choice:
    """One generated answer."""

    text: str
    finish_reason: str | None = "stop"
    # Per generated token, its likeliest alternatives (token -> log-probability), when the
    # request asked for ``top_logprobs`` and the upstream supports them; else empty.
    top_logprobs: tuple[Mapping[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    """The choices one call returned (possibly fewer than asked: callers make up the shortfall)."""

    choices: tuple[Choice, ...]
    usage: Usage = field(default_factory=Usage)
    model: str | None = None


class Upstream(Protocol):
    """Something that answers chat completions."""

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        """Return the upstream's choices; raise a ``proxy.errors.UpstreamError`` on failure."""
        ...
