"""Every error leaves the proxy as OpenAI's envelope ``{"error": {message, type, param, code}}``.

One renderer (``error_response``) serves all handlers: proxy errors keep their status, request
validation is 400 (OpenAI never answers 422) naming the offending parameter, unknown routes 404,
and anything unexpected is a generic 500 whose traceback only reaches the logs
(``CatchAllMiddleware``, pure ASGI so it also covers errors outside the router).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proxy.errors import ClientDisconnectedError, InvalidRequestError, NotFoundError, ProxyError

log = structlog.get_logger(__name__)

_GENERIC_500 = "The server had an error while processing your request."


def error_response(exc: ProxyError) -> JSONResponse:
    """The wire form of any proxy error, with ``x-should-retry`` / ``Retry-After`` when known.

    ``Retry-After`` is whole seconds and at least 1 (a client told 0 would come straight back);
    ``x-should-retry`` says ``true`` or ``false`` whenever the error has a verdict
    (``proxy.upstream.retry`` gives upstream faults theirs).
    """
    headers: dict[str, str] = {}
    if exc.should_retry is not None:
        headers["x-should-retry"] = "true" if exc.should_retry else "false"
    if exc.retry_after_s is not None:
        headers["retry-after"] = str(max(math.ceil(exc.retry_after_s), 1))
    body = {
        "error": {
            "message": exc.message,
            "type": exc.error_type,
            "param": exc.param,
            "code": exc.code,
        }
    }
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def format_loc(loc: Sequence[int | str]) -> str | None:
    """``("messages", 0, "role")`` -> ``"messages[0].role"`` (OpenAI's spelling of a param)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


def _error_loc(errors: Sequence[Any]) -> list[int | str]:
    """The first error's location, minus union-member tags (``content.str``, ``content.list[..]``).

    Pydantic reports one error per union member, each with the member's name appended; when
    siblings differ only in that last element, it is a tag, not a field.
    """
    loc = [p for p in errors[0].get("loc", ()) if p not in ("body", "query", "path", "header")]
    others = [
        [p for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        for e in errors[1:]
    ]
    while loc and any(
        len(o) >= len(loc) and o[: len(loc) - 1] == loc[:-1] and o[len(loc) - 1] != loc[-1]
        for o in others
    ):
        loc = loc[:-1]
    return loc


def validation_error(errors: Sequence[Any]) -> InvalidRequestError:
    """The first pydantic/FastAPI validation error as a 400 naming its parameter."""
    if not errors:
        return InvalidRequestError("Invalid request.")
    first = errors[0]
    param = format_loc(_error_loc(errors))
    if first.get("type") == "missing":
        message = f"Missing required parameter: '{param}'."
    elif first.get("type") == "json_invalid":
        return InvalidRequestError("We could not parse the JSON body of your request.")
    else:
        message = f"Invalid value for '{param}': {first.get('msg', 'invalid value')}."
    return InvalidRequestError(message, param=param, code="invalid_value")


async def _on_proxy_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProxyError)  # noqa: S101 - registered for ProxyError only
    return error_response(exc)


async def _on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    return error_response(validation_error(exc.errors()))


async def _on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if exc.status_code == 404:
        return error_response(NotFoundError(f"Unknown request URL. {exc.detail}"))
    error = InvalidRequestError(str(exc.detail))
    error.status_code = exc.status_code
    return error_response(error)


async def _on_disconnect(_: Request, __: Exception) -> Response:
    # NOTE: nobody reads this; 499 is what the request log records for a client that left.
    return Response(status_code=499)


def install_handlers(app: FastAPI) -> None:
    """Register every handler; routes hold no try/except."""
    app.add_exception_handler(ProxyError, _on_proxy_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ClientDisconnectedError, _on_disconnect)


class CatchAllMiddleware:
    """Turns an unexpected exception into a generic 500; the traceback goes to the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            log.exception("request_crashed")
            if not started:
                await error_response(ProxyError(_GENERIC_500))(scope, receive, send)
