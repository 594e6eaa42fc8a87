"""``ChatService``: the one place that decides how a chat request is answered.

Today every chat request is passed through. This is the seam where detection goes: inspect the
validated request (``body.parsed``) and the ``x-sstar-*`` headers, then either run S* or call
``self.passthrough.chat(...)``, which must stay a clean, self-contained call so S* can fall back
to it. Whatever is chosen is bound to the request log as ``mode``.
"""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import Response

from proxy.api.passthrough import Passthrough
from proxy.api.protocol import ChatCompletionRequest, JsonBody
from proxy.settings import Settings
from proxy.upstream.base import Upstream


class ChatService:
    """Answers ``POST /v1/chat/completions``."""

    def __init__(
        self,
        *,
        settings: Settings,
        passthrough: Passthrough,
        upstream: Upstream | None = None,
        sandbox: object | None = None,
    ) -> None:
        self.settings = settings
        self.passthrough = passthrough
        self.upstream = upstream
        self.sandbox = sandbox

    async def chat(self, body: JsonBody[ChatCompletionRequest], request: Request) -> Response:
        """Detect -> S* or pass-through (S* not wired yet: always pass-through)."""
        structlog.contextvars.bind_contextvars(
            model=body.parsed.model, stream=bool(body.parsed.stream), mode="passthrough"
        )
        return await self.passthrough.chat(body.data, request.headers, request, raw=body.raw)
