"""Foreign errors from litellm (and the openai SDK under it) become ``proxy.errors``, here only.

litellm re-wraps what the openai SDK raised, and not faithfully: an unreachable upstream or a
body that is not JSON comes out as a litellm ``InternalServerError`` (500). So the error that is
classified is the first one in the exception chain that the openai SDK raised itself (or the JSON
decoding error under it), and only without one litellm's own. Order matters: rate limits first,
then timeouts (a subclass of connection errors), then connection errors, then any other status
error, each re-raised ``from`` the original. A status error keeps the upstream's message, type,
param and code (from the SDK's parsed body) and its ``Retry-After`` and ``x-should-retry``;
otherwise messages lose litellm's ``litellm.XError: OpenAIException -`` prefix. This module
imports openai lazily and never litellm.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from proxy.errors import (
    ProxyError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from proxy.upstream.retry import retry_after_from, should_retry_from

INVALID_JSON = "upstream returned invalid JSON"

_PREFIX = re.compile(r"^litellm\.\w+:\s*(?:\w+Error:\s*)?(?:\w+Exception\s*-\s*)?")
_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    422: "invalid_request_error",
}


def _message(exc: Exception) -> str:
    """The upstream's message without litellm's ``litellm.XError: OpenAIException -`` prefix."""
    text = str(getattr(exc, "message", None) or exc)
    return _PREFIX.sub("", text) or text


def _status_error(exc: Exception, status: int, top: Exception) -> UpstreamError:
    """The upstream's error status with its own fields (the SDK parsed its body) and headers."""
    body = getattr(exc, "body", None)
    fields: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    text, kind = fields.get("message"), fields.get("type")
    message = text if isinstance(text, str) and text else _message(top)
    param = fields.get("param") if isinstance(fields.get("param"), str) else None
    code = fields.get("code") if isinstance(fields.get("code"), str | int) else None
    error: UpstreamError
    if status == 429:
        error = UpstreamRateLimitError(message, param=param, code=code)
    else:
        error_type = kind if isinstance(kind, str) else _STATUS_TYPES.get(status)
        if error_type is None and status >= 500:
            error_type = "server_error"
        error = UpstreamStatusError(
            message, status_code=status, error_type=error_type, param=param, code=code
        )
    _keep_headers(error, exc)
    return error


def _keep_headers(error: UpstreamError, exc: Exception) -> None:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is not None:
        error.retry_after_s = retry_after_from(headers)
        error.should_retry = should_retry_from(headers)


def _from_openai(kind: type) -> bool:
    # NOTE: openai re-labels its public classes' __module__ as plain "openai".
    return kind.__module__ == "openai" or kind.__module__.startswith("openai.")


def _origin(exc: Exception) -> Exception:
    """The first error in ``exc``'s chain raised by the openai SDK itself (or a JSON decoding
    error under litellm's wrappers); ``exc`` when there is none."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, json.JSONDecodeError) or (
            isinstance(current, Exception) and _from_openai(type(current))
        ):
            return current
        current = current.__cause__ or current.__context__
    return exc


@contextmanager
def map_upstream_errors() -> Iterator[None]:
    """Translate litellm/openai exceptions into ``proxy.errors`` (subclasses first)."""
    import openai  # NOTE: imported here, cheap once litellm is loaded; keeps module import light

    try:
        yield
    except ProxyError:
        raise
    except TimeoutError as exc:
        raise UpstreamTimeoutError("upstream timed out") from exc
    except Exception as exc:
        translated = _translate(exc, openai)
        if translated is exc:
            raise
        raise translated from exc


def _translate(exc: Exception, openai: Any) -> Exception:
    """The ``proxy.errors`` equivalent of ``exc`` (``exc`` itself when it is none of openai's)."""
    origin = _origin(exc)
    if isinstance(origin, json.JSONDecodeError):
        return UpstreamError(INVALID_JSON)
    if isinstance(origin, openai.RateLimitError):
        return _status_error(origin, 429, exc)
    if isinstance(origin, openai.APITimeoutError):  # before APIConnectionError, its base class
        return UpstreamTimeoutError(f"upstream timed out: {_message(origin)}")
    if isinstance(origin, openai.APIConnectionError):
        return UpstreamError(f"upstream unreachable: {_message(origin)}")
    if isinstance(origin, openai.APIStatusError):
        return _status_error(origin, origin.status_code, exc)
    if isinstance(origin, openai.APIError):
        status = getattr(origin, "status_code", None)
        if isinstance(status, int) and 400 <= status < 600:
            return _status_error(origin, status, exc)
        return UpstreamError(_message(exc))
    return exc
