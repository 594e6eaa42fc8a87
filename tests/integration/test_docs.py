"""``/openapi.json`` shows the request models; ``/docs`` works on a host with no internet.

Uses the shared ``client`` fixture: the app with its lifespan, in-process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from proxy.api.protocol import ChatCompletionRequest

BODIES = {
    "/v1/chat/completions": "ChatCompletionRequest",
    "/v1/completions": "CompletionRequest",
    "/v1/embeddings": "EmbeddingRequest",
    "/v1/responses": "ResponsesRequest",
}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


async def test_the_schema_carries_every_request_model(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    components = schema["components"]["schemas"]
    for path, model in BODIES.items():
        body = schema["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }
        assert model in components
    chat = components["ChatCompletionRequest"]
    assert set(chat["required"]) == {"model", "messages"}
    assert set(ChatCompletionRequest.model_fields) <= set(chat["properties"])
    assert chat["properties"]["messages"]["items"] == {"$ref": "#/components/schemas/ChatMessage"}
    # Every reference resolves inside the document.
    for ref in refs(schema):
        assert ref.removeprefix("#/components/schemas/") in components, ref


async def test_errors_are_documented_as_openai_envelopes_never_422(client):
    schema = (await client.get("/openapi.json")).json()
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert chat["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert "401" in chat
    statuses = {
        status
        for operations in schema["paths"].values()
        for operation in operations.values()
        for status in operation["responses"]
    }
    assert "422" not in statuses
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    # Only the /v1 spelling of each path is listed (the bare ones are the same routes).
    assert "/chat/completions" not in schema["paths"]
    assert "/metrics" in schema["paths"]


async def test_docs_load_with_no_outside_url(client):
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert re.findall(r"https?://", html) == []
    assert "'/openapi.json'" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == [
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in script.text
    assert script.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("name", ["index.html", "..%2Fpyproject.toml", "swagger-ui.js.map"])
async def test_only_the_pages_own_assets_are_served(client, name):
    response = await client.get(f"/docs/assets/{name}")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


async def test_docs_need_no_key(make_settings):
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport, AsyncClient

    from proxy.app import create_app

    app = create_app(make_settings(api_keys="k1"))
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://proxy.test") as http,
    ):
        assert (await http.get("/docs")).status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200
        assert (await http.get("/v1/models")).status_code == 401
