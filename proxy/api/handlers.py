"""Every error leaves the proxy as OpenAI's envelope ``{"error": {message, type, param, code}}``.

One renderer (``error_response``) serves all handlers: proxy errors keep their status, request
validation is 400 (OpenAI never answers 422) naming the offending parameter, unknown routes 404,
and anything unexpected is a generic 500 whose traceback only reaches the logs
(``CatchAllMiddleware``, pure ASGI so it also covers errors outside the router).
"""

from __future__ import annotations

import json
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
_DAY_S = 86_400


class SafeJSONResponse(JSONResponse):
    """JSON that may quote text the proxy did not write (an upstream's error message, a model's
    output): a lone surrogate in it is sent escaped (``\\ud800``, valid JSON) rather than
    failing the whole response with ``UnicodeEncodeError`` (Starlette writes raw UTF-8)."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


def error_response(exc: ProxyError) -> JSONResponse:
    """The wire form of any proxy error, with ``x-should-retry`` / ``Retry-After`` when known.

    ``Retry-After`` is whole seconds and at least 1 (a client told 0 would come straight back);
    ``x-should-retry`` says ``true`` or ``false`` whenever the error has a verdict
    (``proxy.upstream.retry`` gives upstream faults theirs).
    """
    headers: dict[str, str] = {}
    if exc.should_retry is not None:
        headers["x-should-retry"] = "true" if exc.should_retry else "false"
    # NOTE: the value may come from an upstream's header ("inf", "nan", "1e400"): sent only when
    # finite, between 1 s and a day.
    if exc.retry_after_s is not None and math.isfinite(exc.retry_after_s):
        headers["retry-after"] = str(min(max(math.ceil(exc.retry_after_s), 1), _DAY_S))
    body = {
        "error": {
            "message": exc.message,
            "type": exc.error_type,
            "param": exc.param,
            "code": exc.code,
        }
    }
    return SafeJSONResponse(body, status_code=exc.status_code, headers=headers)


def format_loc(loc: Sequence[int | str]) -> str | None:
    """``("messages", 0, "role")`` -> ``"messages[0].role"`` (OpenAI's spelling of a param)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


_SOURCES = ("body", "query", "path", "header")
_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "bytes", "dict", "list", "none"})


def _looks_like_tag(part: int | str) -> bool:
    """Pydantic names a union member by its type: ``str``, ``list[str]``, ``function-after[..]``,
    a model's class name; never like our (snake_case) fields."""
    return isinstance(part, str) and (
        part in _TYPE_NAMES or "[" in part or "-" in part or part[:1].isupper()
    )


def _error_loc(errors: Sequence[Any]) -> list[int | str]:
    """The first error's location, minus union-member tags (``content.str``, ``content.list[..]``).

    Pydantic reports one error per union member, each with the member's name appended. A part is
    such a tag when it is shaped like a type name and a sibling error differs exactly there, so
    two wrong sibling fields (``model`` missing, ``messages`` missing) keep their names.
    """
    locs = [[p for p in e.get("loc", ()) if p not in _SOURCES] for e in errors]
    loc, others = locs[0], locs[1:]
    tags = {
        i
        for i, part in enumerate(loc)
        if _looks_like_tag(part)
        and any(len(o) > i and o[:i] == loc[:i] and o[i] != part for o in others)
    }
    return [part for i, part in enumerate(loc) if i not in tags]


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
