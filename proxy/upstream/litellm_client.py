"""Everything that talks to litellm: the engine's ``LiteLLMUpstream`` and mapped-model pass-through.

This is the only module that imports litellm, and it does so lazily (``_litellm()``): the import
costs 2-4 s and a proxy that only relays to an OpenAI-compatible server never needs it. The
entrypoint sets ``LITELLM_LOCAL_MODEL_COST_MAP=True`` first so the import makes no network call.

Policy, in one place: the provider SDK's own retries are 0 (``max_retries=0``) so they never
compound with ours (``retry.py``); ``drop_params`` is never set, so litellm refuses a parameter it
cannot send instead of silently dropping it (``user``, which it drops anyway for models outside
OpenAI's catalogue, is passed on explicitly: ``_keep_user``); every litellm/openai exception is
translated by ``map_upstream_errors()``. ``LiteLLMUpstream.complete`` makes exactly one attempt:
the S* engine retries in its own call helper, where the run's breaker can stop it. The
pass-through retries here, within one deadline (``SSTAR_REQUEST_TIMEOUT_S``) for the whole
request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import httpx
import structlog

from proxy.errors import UpstreamError, UpstreamTimeoutError
from proxy.overhead import waiting
from proxy.settings import Settings
from proxy.upstream.base import Choice, UpstreamRequest, UpstreamResponse, Usage
from proxy.upstream.litellm_errors import map_upstream_errors
from proxy.upstream.retry import RetryPolicy, call_with_retries
from proxy.upstream.routing import LiteLLMRoute, ModelRouter, RelayRoute

log = structlog.get_logger(__name__)

Endpoint = Literal["chat/completions", "completions", "embeddings"]

_FUNCTIONS: dict[Endpoint, str] = {
    "chat/completions": "acompletion",
    "completions": "atext_completion",
    "embeddings": "aembedding",
}
# NOTE: the openai client refuses to start without a key; keyless local servers ignore it.
_PLACEHOLDER_KEY = "sk-no-key-required"
_OPENAI_COMPATIBLE = ("openai/", "hosted_vllm/", "text-completion-openai/")


_IMPORTED = threading.Event()
"""Set once litellm is wholly imported (sys.modules has it from the import's first line)."""


def _litellm() -> Any:
    """The litellm module, imported on first use (then cached by Python)."""
    # NOTE: without this the import tries to download a cost map (ENVIRONMENT.md section 2).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm: Any = importlib.import_module("litellm")
    # NOTE: otherwise every error prints a "Give Feedback" banner to stdout.
    litellm.suppress_debug_info = True
    _IMPORTED.set()
    return litellm


def warm_up() -> None:
    """Import litellm now (call in a thread at startup) so the first request does not pay for it."""
    _litellm()


async def loaded_litellm() -> Any:
    """The litellm module for a coroutine: imported in a worker thread while it is not loaded.

    NOTE: an import already running in the startup thread holds the import lock; waiting for it
    on the event loop would stall every request for seconds, so the wait happens in a thread.
    """
    if _IMPORTED.is_set():
        return _litellm()
    return await asyncio.to_thread(_litellm)


# litellm-only fields a client of the OpenAI API would not expect.
_LITELLM_FIELDS = frozenset({"provider_specific_fields", "citations", "moderation", "obfuscation"})


async def close_clients() -> None:
    """Close and forget litellm's cached HTTP clients (they are bound to this event loop).

    A no-op when litellm was never imported, so shutting down a relay-only proxy stays instant.
    """
    if "litellm" not in sys.modules:
        return
    litellm = _litellm()
    await litellm.close_litellm_async_clients()
    litellm.in_memory_llm_clients_cache.flush_cache()


class OpenAIClientPool:
    """The ``AsyncOpenAI`` clients we hand to litellm for ``openai/`` models, one per base and key.

    Why: litellm otherwise caches clients process-wide, bound to whichever event loop made them,
    and never closes them; owning them gives each app a clean start and a clean shutdown.
    """

    def __init__(self, *, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, api_base: str, api_key: str) -> Any:
        key = (api_base, api_key)
        client = self._clients.get(key)
        if client is None:
            import openai  # NOTE: litellm depends on openai; imported only when needed

            client = openai.AsyncOpenAI(
                base_url=api_base, api_key=api_key, max_retries=0, timeout=self._timeout_s
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()


def route_args(route: LiteLLMRoute | RelayRoute, pool: OpenAIClientPool) -> dict[str, Any]:
    """litellm model id and credentials: OpenAI-compatible bases go through ``openai/<model>``."""
    if isinstance(route, RelayRoute):
        key = route.api_key or _PLACEHOLDER_KEY
        return {
            "model": f"openai/{route.model}",
            "api_base": route.api_base,
            "api_key": key,
            "client": pool.get(route.api_base, key),
        }
    args: dict[str, Any] = {"model": route.litellm_model}
    if route.api_base:
        args["api_base"] = route.api_base
    if route.api_key:
        args["api_key"] = route.api_key
    elif route.api_base and route.litellm_model.startswith(_OPENAI_COMPATIBLE):
        args["api_key"] = _PLACEHOLDER_KEY
    if route.api_base and route.litellm_model.startswith("openai/"):
        args["client"] = pool.get(route.api_base, args["api_key"])
    return args


def _keep_user(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with a ``user`` field that litellm will send to an OpenAI-compatible server.

    NOTE: litellm lists ``user`` among an ``openai/`` (or ``hosted_vllm/``) model's parameters
    only when the model is in OpenAI's own catalogue, and ``user`` is one of the parameters it
    never refuses: for every other model (vLLM, llama.cpp, the embedded model) it was dropped
    without a word, ``drop_params`` or not. These are the servers our pass-through relays the
    client's own ``user`` to, so it is sent through litellm's ``allowed_openai_params`` (its way
    to pass a parameter it does not list). Other providers keep litellm's mapping (Anthropic's
    ``metadata.user_id``), where sending ``user`` as is would be refused.
    """
    model = kwargs.get("model")
    if "user" not in kwargs or not (
        isinstance(model, str) and model.startswith(_OPENAI_COMPATIBLE)
    ):
        return kwargs
    allowed = [*(kwargs.get("allowed_openai_params") or ()), "user"]
    return {**kwargs, "allowed_openai_params": allowed}


def _request_args(request: UpstreamRequest) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.extra)
    args["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
    optional = {
        "n": request.n if request.n != 1 else None,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "stop": list(request.stop) if request.stop else None,
    }
    args.update({key: value for key, value in optional.items() if value is not None})
    if request.top_logprobs:
        args["logprobs"] = True
        args["top_logprobs"] = request.top_logprobs
    return args


def _to_response(response: Any) -> UpstreamResponse:
    choices = tuple(
        Choice(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            top_logprobs=_top_logprobs(getattr(choice, "logprobs", None)),
        )
        for choice in response.choices
    )
    usage = getattr(response, "usage", None)
    return UpstreamResponse(
        choices=choices,
        usage=Usage(
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        ),
        model=getattr(response, "model", None),
    )


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _top_logprobs(logprobs: Any) -> tuple[dict[str, float], ...]:
    """OpenAI's ``logprobs.content[i].top_logprobs`` as token -> log-probability maps."""
    content = _field(logprobs, "content") if logprobs is not None else None
    positions = []
    for position in content or ():
        alternatives = {}
        for alternative in _field(position, "top_logprobs") or ():
            token, logprob = _field(alternative, "token"), _field(alternative, "logprob")
            if isinstance(token, str) and isinstance(logprob, int | float):
                alternatives[token] = float(logprob)
        positions.append(alternatives)
    return tuple(positions)


NO_CHOICES = "upstream answered with no choices"


class LiteLLMUpstream:
    """``Upstream`` for the S* engine: one chat call (with ``n``) through litellm, one attempt."""

    def __init__(
        self,
        settings: Settings,
        *,
        router: ModelRouter | None = None,
        clients: OpenAIClientPool | None = None,
    ) -> None:
        self._settings = settings
        self._router = router or ModelRouter(settings)
        self._clients = clients or OpenAIClientPool(timeout_s=settings.request_timeout_s)

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        kwargs = _keep_user(
            {
                **_request_args(request),
                **route_args(self._router.resolve(request.model), self._clients),
                "max_retries": 0,
                "timeout": request.timeout_s or self._settings.request_timeout_s,
            }
        )
        litellm = await loaded_litellm()
        with map_upstream_errors():
            async with asyncio.timeout(request.timeout_s):
                response = await litellm.acompletion(**kwargs)
        result = _to_response(response)
        if not result.choices:
            # NOTE: a 200 without choices is a broken answer, not a shortfall to ask again for.
            raise UpstreamError(NO_CHOICES)
        if self._settings.upstream_is_llama_cpp and len(result.choices) > 1:
            result = await self._recount_choices(result, kwargs.get("api_base"))
        return result

    async def _recount_choices(
        self, result: UpstreamResponse, api_base: str | None
    ) -> UpstreamResponse:
        """llama.cpp counts one choice of an ``n`` > 1 call: count each with its tokenizer."""
        if not api_base:
            return result
        url = api_base.removesuffix("/").removesuffix("/v1") + "/tokenize"
        try:
            async with httpx.AsyncClient(timeout=10.0) as http:
                replies = await asyncio.gather(
                    *(http.post(url, json={"content": c.text}) for c in result.choices)
                )
            counted = sum(len(reply.raise_for_status().json()["tokens"]) for reply in replies)
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            log.warning("usage_recount_failed", error=type(exc).__name__)
            return result
        usage = Usage(result.usage.prompt_tokens, max(counted, result.usage.completion_tokens))
        return dataclasses.replace(result, usage=usage)


class LiteLLMPassthrough:
    """Pass-through for config-mapped models, where litellm's provider translation is needed."""

    def __init__(
        self,
        settings: Settings,
        *,
        clients: OpenAIClientPool | None = None,
        on_error: Callable[[UpstreamError], None] | None = None,
    ) -> None:
        """``on_error`` sees every failed attempt (``RetryPolicy.observer``)."""
        self._settings = settings
        self._policy = RetryPolicy.from_settings(settings, observer=on_error)
        self._clients = clients or OpenAIClientPool(timeout_s=settings.request_timeout_s)

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def forward(
        self,
        endpoint: Endpoint,
        route: LiteLLMRoute,
        params: dict[str, Any],
        *,
        deadline: float | None = None,
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        """The response as a dict, or (``stream: true``) an iterator of chunk dicts.

        Attempts, retries and waits end by ``deadline`` (event-loop time; default
        ``SSTAR_REQUEST_TIMEOUT_S`` from now), for a stream until it has started.
        """
        timeout_s = self._settings.request_timeout_s
        until = asyncio.get_running_loop().time() + timeout_s if deadline is None else deadline
        kwargs = {
            **params,
            **route_args(route, self._clients),
            "max_retries": 0,
            "timeout": timeout_s,
        }
        if endpoint == "chat/completions":
            kwargs = _keep_user(kwargs)
        function = getattr(await loaded_litellm(), _FUNCTIONS[endpoint])

        async def attempt() -> Any:
            try:
                async with asyncio.timeout_at(until):
                    with map_upstream_errors():
                        return await function(**kwargs)
            except TimeoutError as exc:
                raise UpstreamTimeoutError(
                    f"upstream did not answer within the request timeout ({timeout_s:g} s)"
                ) from exc

        with waiting():  # the request's wait on the upstream (proxy.overhead)
            result = await call_with_retries(self._policy, attempt, deadline=until)
        if params.get("stream") is True:
            return self._chunks(result, route.public_name)
        return _dump(result, route.public_name)

    async def _chunks(self, stream: Any, public_name: str) -> AsyncIterator[dict[str, Any]]:
        try:
            with map_upstream_errors():
                async for chunk in stream:
                    yield _dump(chunk, public_name)
        finally:
            await _close_stream(stream)


async def _close_stream(stream: Any) -> None:
    """Release the provider stream under litellm's wrapper (closing it stops the generation)."""
    inner = getattr(stream, "completion_stream", None)
    for target in (inner, stream):
        close = getattr(target, "aclose", None) or getattr(target, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result
            return


def _dump(response: Any, public_name: str) -> dict[str, Any]:
    """A litellm response object as wire JSON, showing the public model name to the client."""
    data: dict[str, Any] = _without_litellm_fields(response.model_dump())
    if "model" in data:
        data["model"] = public_name
    return data


def _without_litellm_fields(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in _LITELLM_FIELDS and not k.startswith("_")}
    choices = out.get("choices")
    if isinstance(choices, list):
        out["choices"] = [
            {
                k: _without_litellm_fields(v)
                if k in ("delta", "message") and isinstance(v, dict)
                else v
                for k, v in choice.items()
                if k not in _LITELLM_FIELDS
            }
            for choice in choices
            if isinstance(choice, dict)
        ]
    return out
