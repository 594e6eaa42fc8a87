"""CORS for browser clients, off unless ``SSTAR_CORS_ORIGINS`` names the origins allowed.

Off, the proxy sends no CORS header and a browser's preflight is what any unknown method gets
(405), so no web page can call it from a browser. On, Starlette's ``CORSMiddleware`` answers
preflights before routing (so before the client-key check, which a preflight cannot pass: it
never carries the key) and marks the real responses. What a browser client needs:

- every request header a client sends (``authorization``, ``x-sstar-*``, the SDKs'
  ``x-stainless-*``): requested headers are allowed as asked;
- to read the proxy's answers about itself: the ``x-sstar-*`` headers, ``x-request-id`` and the
  retry hints are exposed (``EXPOSED_HEADERS``);
- no cookies: the key travels in a header, so credentials stay off (and ``*`` stays valid).

A refused preflight (an origin, method or private-network request not allowed) is a 400 in
OpenAI's error envelope, not Starlette's plain text. Private-network preflights (a public page
calling a proxy on a private address, Chrome's Private Network Access) are allowed for origins
listed by name, never for ``*``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from proxy.api.handlers import error_response
from proxy.errors import InvalidRequestError

EXPOSED_HEADERS = (
    "x-request-id",
    "x-sstar-applied",
    "x-sstar-reason",
    "x-sstar-run-id",
    "x-sstar-summary",
    "x-sstar-degraded",
    "x-sstar-fanout",
    "x-sstar-overhead-ms",
    "x-should-retry",
    "retry-after",
)
_BODY_HEADERS = frozenset({"content-length", "content-type"})


class OpenAICORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware with refused preflights rendered as OpenAI errors."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        rendered = error_response(
            InvalidRequestError(
                f"CORS preflight refused: {refused} not allowed (see SSTAR_CORS_ORIGINS).",
                code="cors_not_allowed",
            )
        )
        for name, value in response.headers.items():
            if name not in _BODY_HEADERS:
                rendered.headers[name] = value
        return rendered


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Add CORS for ``origins`` (``["*"]``: any); nothing at all when there are none."""
    if not origins:
        return
    app.add_middleware(
        OpenAICORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
        allow_credentials=False,
        allow_private_network="*" not in origins,
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )
