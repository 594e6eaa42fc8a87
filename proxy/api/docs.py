"""``/docs`` (Swagger UI, served offline) and an ``/openapi.json`` that shows the request bodies.

Request bodies are parsed by a dependency from the raw bytes (``deps.py``: pass-through forwards
them untouched), so FastAPI never sees the models. The routes name them with ``openapi_extra``
(:func:`request_body`, a reference into ``components/schemas``) and :func:`install_openapi`
puts the models' schemas there, as pydantic generates them for validation. FastAPI's generated
422 responses are dropped: a malformed request is a 400 here (OpenAI's envelope,
``ERROR_RESPONSES``).

Swagger UI normally loads its JavaScript and CSS from a CDN, which a proxy on an offline host
cannot reach; the ``swagger-ui-bundle`` package ships them and ``/docs/assets/`` serves the
three files the page needs, so ``/docs`` works without any outside URL. ``/docs`` and
``/openapi.json`` are open like ``/health``: they describe the API, they hold no data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from proxy.api.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ErrorResponse,
    ResponsesRequest,
)
from proxy.errors import NotFoundError

API_DESCRIPTION = (
    "An OpenAI-compatible proxy: chat requests that ask for a self-contained program are "
    "answered with S* test-time scaling, everything else passes through. Send the client key "
    "as `Authorization: Bearer` when the server sets `SSTAR_API_KEYS`. S* controls travel as "
    "`x-sstar-*` headers or the body's `sstar` object; answers say what happened in "
    "`x-sstar-applied` and `x-sstar-reason`."
)
REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ResponsesRequest,
)
"""Every model a route names with :func:`request_body`; their schemas go into the document."""
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_ASSET_PREFIX = "/docs/assets/"
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (400, "Invalid request (a malformed body or control names its `param`)"),
        (401, "Missing or wrong client key (when SSTAR_API_KEYS is set)"),
        (429, "Rate limited by the upstream, or S* at capacity (Retry-After)"),
        (502, "The upstream failed or could not be reached"),
        (504, "The upstream or the S* run ran out of time"),
    )
}
"""Error answers every OpenAI route may give, all in OpenAI's envelope."""


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body ``deps.py`` parses as ``model``.

    Refuses a model missing from :data:`REQUEST_MODELS`: its reference would dangle.
    """
    if model not in REQUEST_MODELS:
        raise ValueError(f"{model.__name__} is not in REQUEST_MODELS")
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the request models' schemas and drop the 422 answers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _, definitions = models_json_schema(
                [(model, "validation") for model in REQUEST_MODELS],
                ref_template="#/components/schemas/{model}",
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(definitions.get("$defs", {}))
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


docs_routes = APIRouter(include_in_schema=False)


@docs_routes.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on ``/openapi.json``, every asset served by the proxy itself."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="sstar-proxy API",
        swagger_js_url=f"{root}{_ASSET_PREFIX}swagger-ui-bundle.js",
        swagger_css_url=f"{root}{_ASSET_PREFIX}swagger-ui.css",
        swagger_favicon_url=f"{root}{_ASSET_PREFIX}favicon-32x32.png",
        # NOTE: Swagger UI would otherwise send the spec to validator.swagger.io for a badge.
        swagger_ui_parameters={"validatorUrl": None},
    )


@docs_routes.get(_ASSET_PREFIX + "{name}")
async def swagger_asset(name: str) -> FileResponse:
    """One of the few Swagger UI files the page loads (none other is served)."""
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"No documentation asset `{name}`.")
    return FileResponse(
        Path(str(swagger_ui_path)) / name,
        media_type=media_type,
        headers={"cache-control": "public, max-age=86400"},
    )
