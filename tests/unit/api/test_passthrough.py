"""Passthrough helpers: what goes upstream, and how the model list is assembled."""

from __future__ import annotations

import httpx
import pytest

from proxy.api.passthrough import Passthrough, outbound_body
from proxy.errors import UpstreamError
from proxy.settings import Settings
from proxy.upstream.relay import Relay
from proxy.upstream.routing import ModelRouter


def test_raw_bytes_go_out_untouched_when_nothing_is_ours():
    raw = b'{"model": "m",   "messages": []}'
    assert outbound_body({"model": "m", "messages": []}, raw, "m") is raw


def test_our_field_and_alias_are_removed_in_place():
    body = {"model": "sstar/m", "sstar": {"mode": "off"}, "messages": [], "n": 2}
    sent = outbound_body(body, b"ignored", "m")
    assert sent == b'{"model":"m","messages":[],"n":2}'
    assert outbound_body({"model": "m", "t": "é"}, None, "m") == '{"model":"m","t":"é"}'.encode()


def _passthrough(handler, **settings: object) -> Passthrough:
    values: dict[str, object] = {"upstream_api_base": "http://up/v1", "upstream_retries": 0}
    values.update(settings)
    resolved = Settings(**values)  # type: ignore[arg-type]
    relay = Relay(resolved, transport=httpx.MockTransport(handler))
    return Passthrough(router=ModelRouter(resolved), relay=relay)


async def test_model_list_keeps_upstream_entries_and_adds_aliases():
    listing = {
        "object": "list",
        "data": [{"id": "a", "object": "model", "max_model_len": 8}, {"x": 1}],
    }
    passthrough = _passthrough(
        lambda request: httpx.Response(200, json=listing),
        models={"mapped": {"model": "openai/m"}},
    )
    models = await passthrough.list_models({})
    assert [m["id"] for m in models["data"]] == ["a", "mapped", "sstar/a", "sstar/mapped"]
    assert models["data"][2]["max_model_len"] == 8


async def test_an_unreadable_model_list_is_an_upstream_error():
    passthrough = _passthrough(lambda request: httpx.Response(200, content=b"<html>"))
    with pytest.raises(UpstreamError):
        await passthrough.list_models({})
