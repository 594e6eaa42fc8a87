"""Which upstream serves a model name, decided in one place.

A public model name either appears in ``Settings.models`` (served through litellm, which translates
to the provider's API) or is forwarded unchanged to the OpenAI-compatible ``upstream_api_base``
(served by the byte-faithful relay). The alias prefix ``sstar/`` is stripped first; whether it asks
for S* is the chat service's business, not the router's.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.alias import split_alias
from proxy.errors import NotFoundError
from proxy.settings import Settings


@dataclass(frozen=True, slots=True)
class RelayRoute:
    """Forward to an OpenAI-compatible server with a plain HTTP client."""

    model: str
    api_base: str
    api_key: str | None


@dataclass(frozen=True, slots=True)
class LiteLLMRoute:
    """Call litellm with a provider model id (the public name is what the client sees)."""

    public_name: str
    litellm_model: str
    api_base: str | None
    api_key: str | None


Route = RelayRoute | LiteLLMRoute


class ModelRouter:
    """Resolves public model names (aliases included) to routes."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        key = settings.upstream_api_key
        self._upstream_key = key.get_secret_value() if key else None

    @property
    def relay_base(self) -> str | None:
        """The OpenAI-compatible base URL, when one is configured."""
        return self._settings.upstream_api_base

    @property
    def relay_key(self) -> str | None:
        return self._upstream_key

    @property
    def relay_headers(self) -> frozenset[str]:
        """Client header names the relay forwards besides its allowlist (lower case)."""
        return frozenset(self._settings.forward_headers)

    def mapped_names(self) -> list[str]:
        """Public names served through litellm, in configuration order."""
        return list(self._settings.models)

    def resolve(self, model: str) -> Route:
        """Route for ``model``; ``NotFoundError`` (404) when nothing can serve it."""
        name, _ = split_alias(model)
        mapped = self._settings.models.get(name)
        if mapped is not None:
            return LiteLLMRoute(
                public_name=name,
                litellm_model=mapped.model,
                api_base=mapped.api_base,
                api_key=mapped.api_key(),
            )
        base = self._settings.upstream_api_base
        if base is not None and name:
            return RelayRoute(model=name, api_base=base, api_key=self._upstream_key)
        raise NotFoundError(
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
