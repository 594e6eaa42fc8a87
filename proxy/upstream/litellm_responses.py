"""The Responses API through litellm, for upstreams that do not serve ``/v1/responses`` themselves.

litellm's ``aresponses`` already translates a Responses request into a chat completion for any
provider and the answer back (a ``response`` object, or the Responses event stream), tools,
function-call items and structured output included: its bridge. It is used for

- the OpenAI-compatible base when it is translated (``SSTAR_UPSTREAM_RESPONSES``; the embedded
  llama.cpp server has no ``/v1/responses``): the bridge is forced
  (``use_chat_completions_api``), and the chat call goes through our own ``AsyncOpenAI`` client;
- mapped models: litellm calls a provider's own Responses API where it has one (OpenAI) and
  bridges otherwise; ``bridge=True`` forces the bridge.

Policy as for chat pass-through (``litellm_client.py``): the provider SDK's retries are 0 and
ours (``retry.py``) run within one deadline; every foreign error is translated by
``map_upstream_errors()``; ``drop_params`` is never set. The JSON the client sees is litellm's
object without litellm's own fields (``cost``, private keys), dumped by alias (``async``, not
``async_``); for a mapped model ``model`` is its public name. litellm is never imported here:
``litellm_client`` loads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from proxy.errors import UpstreamTimeoutError
from proxy.settings import Settings
from proxy.upstream.litellm_client import OpenAIClientPool, loaded_litellm, route_args
from proxy.upstream.litellm_errors import map_upstream_errors
from proxy.upstream.retry import RetryPolicy, call_with_retries
from proxy.upstream.routing import LiteLLMRoute, RelayRoute

_LITELLM_FIELDS = frozenset({"cost", "provider_specific_fields"})


class LiteLLMResponses:
    """``POST /v1/responses`` answered through litellm (see the module docstring)."""

    def __init__(self, settings: Settings, *, clients: OpenAIClientPool) -> None:
        self._settings = settings
        self._policy = RetryPolicy.from_settings(settings)
        self._clients = clients

    async def forward(
        self,
        route: LiteLLMRoute | RelayRoute,
        params: dict[str, Any],
        *,
        bridge: bool,
        deadline: float | None = None,
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        """The ``response`` object as a dict, or (``stream: true``) an iterator of event dicts.

        ``params`` is the request body without ``model`` and the proxy's own fields. Attempts,
        retries and waits end by ``deadline`` (event-loop time; default the request timeout),
        for a stream until it has started.
        """
        timeout_s = self._settings.request_timeout_s
        until = asyncio.get_running_loop().time() + timeout_s if deadline is None else deadline
        credentials = route_args(route, self._clients)
        if isinstance(route, LiteLLMRoute):
            # NOTE: our AsyncOpenAI client serves chat calls only; litellm's own Responses
            # handler (a provider's native API) brings its HTTP client.
            credentials.pop("client", None)
        kwargs = {**params, **credentials, "max_retries": 0, "timeout": timeout_s}
        if bridge:
            kwargs["use_chat_completions_api"] = True
        litellm = await loaded_litellm()

        async def attempt() -> Any:
            try:
                async with asyncio.timeout_at(until):
                    with map_upstream_errors():
                        return await litellm.aresponses(**kwargs)
            except TimeoutError as exc:
                raise UpstreamTimeoutError(
                    f"upstream did not answer within the request timeout ({timeout_s:g} s)"
                ) from exc

        result = await call_with_retries(self._policy, attempt, deadline=until)
        public = route.public_name if isinstance(route, LiteLLMRoute) else None
        if params.get("stream") is True:
            return _events(result, public)
        return _dump(result, public)


async def _events(stream: Any, public_name: str | None) -> AsyncIterator[dict[str, Any]]:
    try:
        with map_upstream_errors():
            async for event in stream:
                yield _dump(event, public_name)
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


def _dump(item: Any, public_name: str | None) -> dict[str, Any]:
    """A litellm object as wire JSON: by alias, without litellm's fields, the public model."""
    data: dict[str, Any] = _clean(item.model_dump(mode="json", by_alias=True))
    if public_name is not None:
        inner = data.get("response")
        target: dict[str, Any] = inner if isinstance(inner, dict) else data
        if "model" in target:
            target["model"] = public_name
    return data


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _clean(v)
            for k, v in value.items()
            if k not in _LITELLM_FIELDS and not str(k).startswith("_")
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
