"""OpenAI wire models, with OpenAI's own class and field names.

Requests are validated with these models (so a wrong type is a 400 naming the field) but never
rebuilt from them: pass-through forwards the client's JSON, so every model allows unknown fields
and only declares what the proxy checks or reads. Responses the proxy renders itself (errors, the
model list) are declared in full.

Fields are typed as OpenAI types them, strictly: ``"stream": "yes"`` or ``1`` is a 400, not a
quiet ``True`` that the proxy then reads as "not streaming" (it reads the raw dict); an integer
field refuses ``2.0`` and ``true``; numbers must be finite. The sampling fields S* repeats on its
sub-calls (``proxy.tasking.params.FORWARDED_SAMPLING``) are declared for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict, StrictBool, StrictInt

Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite JSON number (an integer is a number too; a string, a boolean or NaN is not)."""

EXTENSION_FIELD = "sstar"
"""Our body extension (SDK ``extra_body={"sstar": {...}}``); removed before forwarding."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Wire):
    """One message; roles and content parts are the upstream's to judge, so they stay open."""

    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(_Wire):
    include_usage: StrictBool | None = None


class _Sampling(_Wire):
    """The sampling fields chat and legacy completions share (vLLM's extras included)."""

    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    n: StrictInt | None = Field(None, ge=1, le=128)
    temperature: Number | None = Field(None, ge=0, le=2)
    top_p: Number | None = Field(None, ge=0, le=1)
    presence_penalty: Number | None = None
    frequency_penalty: Number | None = None
    repetition_penalty: Number | None = None
    min_p: Number | None = None
    top_k: StrictInt | None = None
    logit_bias: dict[str, Number] | None = None
    seed: StrictInt | None = None
    user: str | None = None
    sstar: dict[str, Any] | None = None


class ChatCompletionRequest(_Sampling):
    """``POST /v1/chat/completions``."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: StrictInt | None = Field(None, ge=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = Field(None, ge=0, le=20)


class CompletionRequest(_Sampling):
    """``POST /v1/completions`` (legacy completions and FIM); never scaled."""

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: StrictInt | None = Field(None, ge=0)


class EmbeddingRequest(_Wire):
    """``POST /v1/embeddings``."""

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    sstar: dict[str, Any] | None = None


class ResponsesRequest(_Wire):
    """``POST /v1/responses``. ``input`` items, ``tools`` and ``text`` stay open (the upstream
    judges them; ``proxy.api.responses_view`` reads what S* needs); the scalar fields are typed
    strictly, as for chat."""

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    stream: StrictBool | None = None
    max_output_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0, le=2)
    top_p: Number | None = Field(None, ge=0, le=1)
    top_logprobs: StrictInt | None = Field(None, ge=0, le=20)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    previous_response_id: str | None = None
    text: dict[str, Any] | None = None
    background: StrictBool | None = None
    store: StrictBool | None = None
    user: str | None = None
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
