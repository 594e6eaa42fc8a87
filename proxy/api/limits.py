"""Reject oversized request bodies before they are buffered (413, OpenAI envelope).

Pure ASGI: a declared ``Content-Length`` over the limit is refused at once; a chunked body is
counted as it is received and refused the moment it crosses the limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proxy.api.handlers import error_response
from proxy.errors import PayloadTooLargeError


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"Request body too large: the limit is {limit} bytes.", code="request_too_large"
    )


class BodyLimitMiddleware:
    """Caps every HTTP request body at ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await error_response(_too_large(self.limit))(scope, receive, send)
                return
        received = 0

        async def receive_counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _too_large(self.limit)
            return message

        await self.app(scope, receive_counting, send)
