"""create_app: no import-time work, services on app.state, open ops routes, client-key auth."""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
from asgi_lifespan import LifespanManager

from proxy.app import create_app
from proxy.upstream.base import UpstreamRequest, UpstreamResponse


def test_importing_the_app_does_no_work():
    code = "import sys, proxy.app, proxy.cli; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class _Upstream:
    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        raise NotImplementedError


async def test_services_live_on_app_state(make_settings):
    upstream = _Upstream()
    app = create_app(make_settings(), upstream=upstream)
    async with LifespanManager(app):
        assert app.state.upstream is upstream
        assert app.state.chat_service.passthrough is app.state.passthrough
        assert app.state.settings.upstream_retries == 0


async def test_health_never_touches_the_upstream(client, fake_upstream):
    assert (await client.get("/healthz")).status_code == 200
    assert fake_upstream.requests == []


async def test_ready_is_503_when_the_upstream_is_down(make_settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(make_settings(upstream_api_base=f"http://127.0.0.1:{port}/v1"))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_unavailable"


async def test_a_draining_server_is_not_ready(make_settings, fake_upstream):
    app = create_app(make_settings())
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            before = await http.get("/ready")
            app.state.drain.begin()
            during = await http.get("/ready")
            alive = await http.get("/health")
    assert before.status_code == 200
    assert during.status_code == 503
    assert during.json()["error"]["code"] == "shutting_down"
    assert alive.status_code == 200  # liveness: the process still serves what is in flight


async def test_client_keys(make_settings, fake_upstream):
    app = create_app(make_settings(api_keys="k1,k2"))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            missing = await http.get("/v1/models")
            wrong = await http.get("/v1/models", headers={"authorization": "Bearer k3"})
            basic = await http.get("/v1/models", headers={"authorization": "Basic k1"})
            bearer = await http.get("/v1/models", headers={"authorization": "Bearer k2"})
            azure = await http.get("/v1/models", headers={"api-key": "k1"})
            fim = await http.get("/models", headers={"x-api-key": "k1"})
            health = await http.get("/health")
    assert [r.status_code for r in (missing, wrong, basic)] == [401, 401, 401]
    assert missing.json()["error"]["type"] == "authentication_error"
    assert "didn't provide" in missing.json()["error"]["message"]
    assert [r.status_code for r in (bearer, azure, fim, health)] == [200, 200, 200, 200]
    assert all("k1" not in repr(r.headers) for r in fake_upstream.requests)
