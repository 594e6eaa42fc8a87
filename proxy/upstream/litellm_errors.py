"""Foreign errors from litellm (and the openai SDK under it) become ``proxy.errors``, here only.

Order matters: rate limits first, then timeouts (a subclass of connection errors), then
connection errors, then any other status error, each re-raised ``from`` the original. Messages
lose litellm's ``litellm.XError: OpenAIException -`` prefix so the client sees the upstream's own
words. This module imports openai lazily and never litellm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from proxy.errors import (
    ProxyError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)

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


def _status_error(exc: Exception, status: int) -> UpstreamStatusError:
    error_type = _STATUS_TYPES.get(status, "server_error" if status >= 500 else None)
    return UpstreamStatusError(_message(exc), status_code=status, error_type=error_type)


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return max(float(headers[name]) / scale, 0.0)
        except (KeyError, TypeError, ValueError):
            continue
    return None


@contextmanager
def map_upstream_errors() -> Iterator[None]:
    """Translate litellm/openai exceptions into ``proxy.errors`` (subclasses first)."""
    import openai  # NOTE: imported here, cheap once litellm is loaded; keeps module import light

    try:
        yield
    except ProxyError:
        raise
    except openai.RateLimitError as exc:
        raise UpstreamRateLimitError(_message(exc), retry_after_s=_retry_after(exc)) from exc
    except openai.APITimeoutError as exc:  # before APIConnectionError, its base class
        raise UpstreamTimeoutError(f"upstream timed out: {_message(exc)}") from exc
    except openai.APIConnectionError as exc:
        raise UpstreamError(f"upstream unreachable: {_message(exc)}") from exc
    except openai.APIStatusError as exc:
        raise _status_error(exc, exc.status_code) from exc
    except openai.APIError as exc:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and 400 <= status < 600:
            raise _status_error(exc, status) from exc
        raise UpstreamError(_message(exc)) from exc
    except TimeoutError as exc:
        raise UpstreamTimeoutError("upstream timed out") from exc
