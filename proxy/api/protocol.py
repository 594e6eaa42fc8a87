"""OpenAI wire models, with OpenAI's own class and field names.

Requests are validated with these models (so a wrong type is a 400 naming the field) but never
rebuilt from them: pass-through forwards the client's JSON, so every model allows unknown fields
and only declares what the proxy checks or reads. Responses the proxy renders itself (errors, the
model list) are declared in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

EXTENSION_FIELD = "sstar"
"""Our body extension (SDK ``extra_body={"sstar": {...}}``); removed before forwarding."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Wire):
    """One message; roles and content parts are the upstream's to judge, so they stay open."""

    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(_Wire):
    include_usage: bool | None = None


class ChatCompletionRequest(_Wire):
    """``POST /v1/chat/completions``."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, ge=1, le=128)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    sstar: dict[str, Any] | None = None


class CompletionRequest(_Wire):
    """``POST /v1/completions`` (legacy completions and FIM); never scaled."""

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: bool | None = None
    n: int | None = Field(None, ge=1, le=128)
    max_tokens: int | None = Field(None, ge=0)
    sstar: dict[str, Any] | None = None


class EmbeddingRequest(_Wire):
    """``POST /v1/embeddings``."""

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    sstar: dict[str, Any] | None = None


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | int | None = None


class ErrorResponse(BaseModel):
    """The only error shape on the wire: ``{"error": {"message","type","param","code"}}``."""

    error: ErrorDetail


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "sstar-proxy"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class JsonBody(Generic[M]):
    """A request body three ways: the bytes as sent (forwarded untouched when possible), the
    parsed dict (rewritten when the proxy must strip its own fields), and the validated model."""

    raw: bytes
    data: dict[str, Any]
    parsed: M
